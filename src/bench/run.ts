/**
 * `cxr bench`: the reference CNN (the PyTorch comparison model) and the default architecture, inference and
 * training images/s at batch 32 after warm-up, plus the data pipeline's decode + augment images/s.
 */
import { type BackendName, engineThreads, initEngine } from '../engine/backend.ts';
import { ARCHITECTURES } from '../model/architectures.ts';
import { DEFAULT_IMAGE_DIRS, findBenchImages, measurePipeline } from './pipeline.ts';
import { measureThroughput, type ThroughputResult } from './throughput.ts';

/** The reference CNN's benchmark size, fixed so results compare with ../shared/bench at 128 px. */
export const REFERENCE_IMAGE_SIZE = 128;
export const BENCH_BATCH_SIZE = 32;

export interface BenchOptions {
  backend?: BackendName;
  /** wasm threads (default: the engine's default). */
  threads?: number;
  /** Fewer repetitions and images: a smoke run in seconds rather than a measurement. */
  quick?: boolean;
  /** Directories searched for pipeline images (default DEFAULT_IMAGE_DIRS). */
  imageDirs?: string[];
  /** Called before each stage, e.g. to show what is running. */
  onStage?: (stage: string) => void;
}

export interface ModelBench {
  architecture: string;
  imageSize: number;
  batchSize: number;
  predictImagesPerSec: number;
  trainImagesPerSec: number;
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
  threads: number;
  reference: ModelBench;
  default: ModelBench;
  pipeline: PipelineBench;
}

function rounded(result: ThroughputResult): ModelBench {
  return {
    ...result,
    predictImagesPerSec: Math.round(result.predictImagesPerSec * 10) / 10,
    trainImagesPerSec: Math.round(result.trainImagesPerSec * 10) / 10,
  };
}

/** Timed repetitions: the cpu backend is ~30x slower, so it gets a single untimed-warm-up-free pass. */
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
  return { ...result, imagesPerSec: Math.round(result.imagesPerSec * 10) / 10 };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const backend = await initEngine({ backend: options.backend, threads: options.threads });
  const reps = repetitions(backend, options.quick ?? false);
  const measure = (architecture: string, imageSize: number) => {
    options.onStage?.(`${architecture} at ${imageSize} px`);
    return rounded(measureThroughput({ architecture, imageSize, batchSize: BENCH_BATCH_SIZE, ...reps }));
  };
  const reference = measure('reference-cnn', REFERENCE_IMAGE_SIZE);
  const defaultSize = ARCHITECTURES.default.defaultImageSize;
  const defaultModel = measure('default', defaultSize);
  options.onStage?.('data pipeline (decode + augment)');
  const pipeline = await pipelineBench(options, defaultSize);
  return { backend, threads: engineThreads(), reference, default: defaultModel, pipeline };
}
