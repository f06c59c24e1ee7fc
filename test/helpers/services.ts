/**
 * Real Orthanc (with its DICOMweb plugin) and real redis-server for the integration tests, each started on free
 * loopback ports with a temporary configuration and data folder, in its own process group, and stopped (group
 * killed, folder removed) by `stop()`. Debian packages: orthanc, orthanc-dicomweb, redis-server (.ci/run installs
 * them).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function findBinary(name: string, candidates: string[]): string {
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  return name;
}

/** Kills the whole process group and waits for the leader to exit (SIGKILL after 5 s). */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }, 5000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(check: () => Promise<boolean>, what: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${log()}`);
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start within 20 s:\n${log()}`);
}

function startGroup(
  command: string,
  args: string[],
  cwd: string,
): { child: ChildProcess; log: () => string } {
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => output };
}

export interface OrthancServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The DICOMweb root: http://127.0.0.1:PORT/dicom-web */
  dicomWeb: string;
  user: string;
  password: string;
  /** Orthanc's own REST API with the test credentials. */
  rest(pathname: string, init?: RequestInit): Promise<Response>;
  /** Stores Part 10 files through Orthanc's REST API (not DICOMweb, so STOW is tested on its own). */
  upload(files: Uint8Array[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startOrthanc(): Promise<OrthancServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxr-orthanc-'));
  const [httpPort, dicomPort] = [await freePort(), await freePort()];
  const user = 'cxr';
  const password = 'test-password';
  const config = {
    Name: 'cxr-test',
    StorageDirectory: path.join(dir, 'db'),
    IndexDirectory: path.join(dir, 'db'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    HttpCompressionEnabled: false,
    Plugins: [findBinary('libOrthancDicomWeb.so', ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'])],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false },
  };
  await writeFile(path.join(dir, 'orthanc.json'), JSON.stringify(config, null, 2));
  const { child, log } = startGroup(findBinary('Orthanc', ['/usr/sbin/Orthanc']), ['orthanc.json'], dir);
  const url = `http://127.0.0.1:${httpPort}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const rest = (pathname: string, init: RequestInit = {}) =>
    fetch(`${url}${pathname}`, { ...init, headers: { authorization, ...(init.headers ?? {}) } });
  const stop = async () => {
    await stopGroup(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await rest('/system')).ok, 'Orthanc', child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    dicomWeb: `${url}/dicom-web`,
    user,
    password,
    rest,
    async upload(files) {
      for (const file of files) {
        const response = await rest('/instances', { method: 'POST', body: new Uint8Array(file) });
        if (!response.ok) throw new Error(`Orthanc refused an upload: HTTP ${response.status}`);
      }
    },
    stop,
  };
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxr-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  const { child, log } = startGroup(findBinary('redis-server', ['/usr/bin/redis-server']), args, dir);
  const stop = async () => {
    await stopGroup(child);
    await rm(dir, { recursive: true, force: true });
  };
  const ping = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
  try {
    await waitFor(ping, 'redis-server', child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}
