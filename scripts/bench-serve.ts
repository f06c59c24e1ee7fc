/**
 * `npm run bench:serve`: load-tests `cxr serve` on loopback with autocannon. The server runs as its own process
 * (as in production, and so the load generator does not steal its event loop); each request carries one
 * full-resolution chest X-ray JPEG. Reports throughput, latency percentiles and errors.
 *
 *   npm run bench:serve -- [--model DIR] [--images DIR] [--connections 8] [--duration 20] [--heatmap] [--json]
 *
 * Target on the 2-core reference machine: zero errors, p99 under 400 ms (8 connections, 20 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** The parts of autocannon's result this script reads (the package ships no types). */
interface AutocannonResult {
  requests: { average: number; total: number };
  throughput: { average: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

const DEFAULT_IMAGES = '../shared/datasets/fullres_samples';

/** CPU seconds: the whole machine (busy, from /proc/stat) and the server process (from /proc/<pid>/stat). */
interface CpuSnapshot {
  machineBusy: number;
  server: number;
  self: number;
  at: number;
}

async function cpuSnapshot(serverPid: number | undefined): Promise<CpuSnapshot | null> {
  try {
    const ticks = 100; // USER_HZ on Linux
    const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
    const fields = cpu.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const stat = (await readFile(`/proc/${serverPid}/stat`, 'utf8')).split(') ')[1].split(' ');
    const usage = process.cpuUsage();
    return {
      machineBusy: (total - idle) / ticks,
      server: (Number(stat[11]) + Number(stat[12])) / ticks,
      self: (usage.user + usage.system) / 1e6,
      at: performance.now() / 1000,
    };
  } catch {
    return null; // not Linux: the CPU line is left out of the report
  }
}

/** Average cores used during the run by the server, by this load generator, and by everything else. */
function coresUsed(before: CpuSnapshot | null, after: CpuSnapshot | null) {
  if (!before || !after) return null;
  const seconds = after.at - before.at;
  const server = (after.server - before.server) / seconds;
  const loadGenerator = (after.self - before.self) / seconds;
  const machine = (after.machineBusy - before.machineBusy) / seconds;
  const round = (n: number) => Number(Math.max(0, n).toFixed(2));
  return {
    server: round(server),
    loadGenerator: round(loadGenerator),
    other: round(machine - server - loadGenerator),
  };
}

async function findJpegs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.jpe?g$/i.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** Starts `cxr serve` on a free port and resolves with its URL once it is listening. */
async function startServer(options: { model?: string }): Promise<{ child: ChildProcess; url: string }> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--log-level', 'warn'];
  if (options.model) args.push('--model', options.model);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
      const match = /at (http:\/\/[\d.]+:\d+)\//.exec(stderr);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`cxr serve exited with code ${code}:\n${stderr}`)));
  });
  return { child, url };
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(22)}${value}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      images: { type: 'string', default: DEFAULT_IMAGES },
      connections: { type: 'string', default: '8' },
      duration: { type: 'string', default: '20' },
      heatmap: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!existsSync(values.images)) {
    throw new Error(
      `no images at ${values.images}: pass --images DIR with full-resolution chest X-ray JPEGs`,
    );
  }
  const files = await findJpegs(values.images);
  if (files.length === 0) throw new Error(`no .jpeg/.jpg files under ${values.images}`);
  const bodies = await Promise.all(files.map((file) => readFile(file)));
  const connections = Number(values.connections);
  const duration = Number(values.duration);
  const requestPath = `/api/v1/predict${values.heatmap ? '?heatmap=1' : ''}`;

  const { child, url } = await startServer({ model: values.model });
  try {
    // Warm-up: the first inferences compile WASM kernels and size buffers; they are not what users wait for.
    for (const body of bodies) {
      const response = await fetch(`${url}${requestPath}`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body,
      });
      if (!response.ok)
        throw new Error(`warm-up request failed: ${response.status} ${await response.text()}`);
    }
    const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
    const cpuBefore = await cpuSnapshot(child.pid);
    const result = await autocannon({
      url,
      connections,
      duration,
      timeout: 30,
      requests: bodies.map((body) => ({
        method: 'POST',
        path: requestPath,
        headers: { 'content-type': 'image/jpeg' },
        body,
      })),
    });
    const cores = coresUsed(cpuBefore, await cpuSnapshot(child.pid));
    const health = (await (await fetch(`${url}/healthz`)).json()) as {
      model: { name: string; version: string };
      queue: { rejected: number; msPerImage: number };
    };
    const errors = result.errors + result.timeouts + result.non2xx;
    const report = {
      model: `${health.model.name} ${health.model.version}`,
      images: `${files.length} JPEGs from ${values.images} (${Math.round(bodies.reduce((n, b) => n + b.length, 0) / bodies.length / 1024)} KB average)`,
      route: requestPath,
      connections,
      durationSeconds: result.duration,
      cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
      // Other work on the machine skews every number here, so the report says how much CPU it took.
      coresUsed: cores,
      requests: result.requests.total,
      throughputPerSecond: Number(result.requests.average.toFixed(2)),
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
      },
      errors: { total: errors, socket: result.errors, timeouts: result.timeouts, non2xx: result.non2xx },
      serverQueue: health.queue,
      meetsTarget: errors === 0 && result.latency.p99 < 400,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      [
        `cxr serve benchmark: ${report.model}, ${report.images}`,
        row('route', `POST ${requestPath}`),
        row('load', `${connections} connections for ${result.duration} s on ${report.cpus}`),
        row(
          'cores used (avg)',
          cores
            ? `server ${cores.server}, load generator ${cores.loadGenerator}, other processes ${cores.other}`
            : 'unknown (no /proc)',
        ),
        row('requests', `${result.requests.total} (${result['2xx']} answered 2xx)`),
        row('throughput', `${report.throughputPerSecond} requests/s`),
        row('latency p50 / p90', `${result.latency.p50} ms / ${result.latency.p90} ms`),
        row('latency p99 / max', `${result.latency.p99} ms / ${result.latency.max} ms`),
        row(
          'errors',
          `${errors} (socket ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx})`,
        ),
        row(
          'server',
          `${health.queue.msPerImage} ms per image, ${health.queue.rejected} requests refused (503)`,
        ),
        row('target', `zero errors and p99 < 400 ms: ${report.meetsTarget ? 'met' : 'NOT met'}`),
        '',
      ].join('\n'),
    );
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:serve: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
