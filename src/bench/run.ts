/**
 * `cxr bench`: the reference CNN (the PyTorch comparison model) and the default architecture, inference and
 * training images/s at batch 32 after warm-up, at each thread count asked for (default 1 and 2), plus the data
 * pipeline's decode + augment images/s.
 */
import { startTsWorker } from '../core/ts-worker.ts';
import { type BackendName, requestedThreads } from '../engine/backend.ts';
import { ARCHITECTURES } from '../model/architectures.ts';
import type { ModelsReply, ModelsRequest } from './models-worker.ts';
import { DEFAULT_IMAGE_DIRS, findBenchImages, measurePipeline } from './pipeline.ts';
import type { ThroughputResult } from './throughput.ts';

/** The reference CNN's benchmark size, fixed so results compare with ../shared/bench at 128 px. */
export const REFERENCE_IMAGE_SIZE = 128;
export const BENCH_BATCH_SIZE = 32;
/** Thread counts measured when none are given. */
export const BENCH_THREADS = [1, 2];

export interface BenchOptions {
  backend?: BackendName;
  /** Thread counts to measure (default BENCH_THREADS; the cpu backend always uses 1). */
  threads?: number[];
  /** Fewer repetitions and images: a smoke run in seconds rather than a measurement. */
  quick?: boolean;
  /** Directories searched for pipeline images (default DEFAULT_IMAGE_DIRS). */
  imageDirs?: string[];
  /** Measure the data pipeline (default true). */
  pipeline?: boolean;
  /** Called before each stage, e.g. to show what is running. */
  onStage?: (stage: string) => void;
}

/** Throughput at one thread count. */
export interface ThreadsBench {
  threads: number;
  predictImagesPerSec: number;
  trainImagesPerSec: number;
}

export interface ModelBench {
  architecture: string;
  imageSize: number;
  batchSize: number;
  /** At the report's `threads` (the engine's default count when measured). */
  predictImagesPerSec: number;
  trainImagesPerSec: number;
  /** Every thread count measured, fewest first. */
  byThreads: ThreadsBench[];
}

export interface PipelineBench {
  /** Null when no images were found. */
  imagesPerSec: number | null;
  images: number;
  source: string | null;
  note?: string;
}

export interface BenchReport {
  backend: BackendName;
  /** The thread count of the headline figures: the engine's default when it was measured. */
  threads: number;
  reference: ModelBench;
  default: ModelBench;
  pipeline: PipelineBench;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Timed repetitions: the cpu backend is ~30x slower, so it gets a single pass without warm-up. */
function repetitions(backend: BackendName, quick: boolean): { steps: number; warmupSteps: number } {
  if (backend === 'cpu') return { steps: 1, warmupSteps: 0 };
  return quick ? { steps: 2, warmupSteps: 1 } : { steps: 5, warmupSteps: 2 };
}

async function pipelineBench(options: BenchOptions, imageSize: number): Promise<PipelineBench> {
  const dirs = options.imageDirs ?? DEFAULT_IMAGE_DIRS;
  const found = await findBenchImages(dirs, options.quick ? 32 : 256);
  if (!found) {
    return { imagesPerSec: null, images: 0, source: null, note: `no images found in ${dirs.join(' or ')}` };
  }
  const result = await measurePipeline({ ...found, imageSize });
  return { ...result, imagesPerSec: round1(result.imagesPerSec) };
}

/** Measures the models at one thread count in a fresh worker thread (see models-worker.ts). */
function measureModels(request: ModelsRequest): Promise<ThroughputResult[]> {
  const worker = startTsWorker(new URL('./models-worker.ts', import.meta.url));
  return new Promise<ThroughputResult[]>((resolve, reject) => {
    worker.once('message', (reply: ModelsReply) => {
      if (reply.ok) resolve(reply.results);
      else reject(new Error(`benchmark worker failed: ${reply.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`benchmark worker exited with code ${code}`)));
    worker.postMessage(request);
  }).finally(() => worker.terminate());
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const backend = options.backend ?? 'wasm';
  const counts =
    backend === 'cpu' ? [1] : [...new Set(options.threads ?? BENCH_THREADS)].sort((a, b) => a - b);
  const reps = repetitions(backend, options.quick ?? false);
  const models = [
    { architecture: 'reference-cnn', imageSize: REFERENCE_IMAGE_SIZE },
    { architecture: 'default', imageSize: ARCHITECTURES.default.defaultImageSize },
  ].map((m) => ({ ...m, batchSize: BENCH_BATCH_SIZE, ...reps }));
  const measured: ThroughputResult[][] = [];
  for (const threads of counts) {
    options.onStage?.(`models on ${threads} thread(s)`);
    measured.push(await measureModels({ backend, threads, models }));
  }
  const preferred = requestedThreads();
  const headline = counts.includes(preferred) ? preferred : counts[counts.length - 1];
  const bench = (i: number): ModelBench => {
    const byThreads = counts.map((threads, k) => ({
      threads,
      predictImagesPerSec: round1(measured[k][i].predictImagesPerSec),
      trainImagesPerSec: round1(measured[k][i].trainImagesPerSec),
    }));
    const { predictImagesPerSec, trainImagesPerSec } = byThreads[counts.indexOf(headline)];
    const { architecture, imageSize, batchSize } = measured[0][i];
    return { architecture, imageSize, batchSize, predictImagesPerSec, trainImagesPerSec, byThreads };
  };
  let pipeline: PipelineBench = { imagesPerSec: null, images: 0, source: null, note: 'not measured' };
  if (options.pipeline !== false) {
    options.onStage?.('data pipeline (decode + augment)');
    pipeline = await pipelineBench(options, ARCHITECTURES.default.defaultImageSize);
  }
  return { backend, threads: headline, reference: bench(0), default: bench(1), pipeline };
}
