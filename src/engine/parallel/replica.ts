/**
 * A data-parallel replica: the worker-thread side of trainer.ts. It owns a single-threaded wasm backend, a copy
 * of the model and of the optimiser, and trains on its part of each batch (read from shared memory) with the
 * shared training step, summing batch-norm statistics and gradients with the other replicas, so that every
 * replica applies the same update and all stay identical.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../../core/random.ts';
import { createAugmenter, type InPlaceBatchAugment } from '../../data/augment.ts';
import { initEngine } from '../backend.ts';
import { type KernelProfile, startKernelProfile } from '../profile.ts';
import { idleStep, trainStep } from '../train-step.ts';
import { Collective, withCollective } from './collective.ts';
import {
  type Envelope,
  type InitRequest,
  type MemoryReply,
  type ReplyEnvelope,
  type Request,
  type StateReply,
  type StepReply,
  type StepRequest,
  slotViews,
} from './protocol.ts';
import {
  createOptimizer,
  readModelWeights,
  readOptimizerState,
  writeModelWeights,
  writeOptimizerState,
} from './state.ts';

interface Replica {
  init: InitRequest;
  collective: Collective;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  augment: InPlaceBatchAugment | null;
}

let replica: Replica | null = null;
/** The kernel profile being taken, and the time spent in steps since it started (its wall time). */
let profile: { session: { stop(): KernelProfile }; stepMs: number } | null = null;

function current(): Replica {
  if (!replica) throw new Error('replica used before init');
  return replica;
}

async function init(request: InitRequest): Promise<void> {
  await initEngine({ backend: 'wasm', threads: 1 });
  const model = await tfl.models.modelFromJSON({ modelTopology: request.topology } as Parameters<
    typeof tfl.models.modelFromJSON
  >[0]);
  writeModelWeights(model, request.weights);
  const optimizer = createOptimizer(request.optimizer);
  await writeOptimizerState(optimizer, request.optimizer);
  const collective = new Collective(request.rank, request.collective);
  const augment = request.augmentation ? createAugmenter(request.augmentation).inPlace : null;
  replica = { init: request, collective, model, optimizer, augment };
}

/** Replica 0 draws the step's own seed (so one replica trains as the main thread would); others derive one. */
function replicaSeed(seed: number, rank: number): number {
  return rank === 0 ? seed : deriveSeed(seed, 'replica', rank);
}

function step(request: StepRequest): StepReply {
  const { init: setup, collective, model, optimizer, augment } = current();
  collective.participants = request.participants;
  const { imageSize } = setup.batches;
  const area = imageSize * imageSize;
  const views = slotViews(setup.batches, request.slot);
  const { start, count } = request;
  if (count === 0) {
    withCollective(collective, () => idleStep({ model, optimizer, learningRate: request.learningRate }));
    return { loss: 0, probabilities: new Float32Array(0) };
  }
  const pixels = views.pixels.subarray(start * area, (start + count) * area);
  if (augment && request.augmentSeed !== null) {
    // This replica's images only, in place in the shared slot: each replica owns its own part of it.
    augment({ pixels, count, imageSize, seed: request.augmentSeed, first: start });
  }
  const batch = tf.tidy(() => ({
    x: tf.tensor4d(Float32Array.from(pixels), [count, imageSize, imageSize, 1]),
    y: tf.tensor2d(views.labels.slice(start, start + count), [count, 1]),
    weights: tf.tensor2d(views.weights.slice(start, start + count), [count, 1]),
  }));
  try {
    return withCollective(collective, () =>
      trainStep({
        model,
        optimizer,
        batch,
        learningRate: request.learningRate,
        seed: replicaSeed(request.seed, setup.rank),
        epsilon: setup.epsilon,
        share: count / request.total,
      }),
    );
  } finally {
    tf.dispose([batch.x, batch.y, batch.weights]);
  }
}

async function handle(request: Request): Promise<unknown> {
  switch (request.kind) {
    case 'init':
      return init(request);
    case 'step': {
      const started = performance.now();
      const reply = step(request);
      if (profile) profile.stepMs += performance.now() - started;
      return reply;
    }
    case 'read-state': {
      const { model, optimizer } = current();
      const state: StateReply = {
        weights: readModelWeights(model),
        optimizer: await readOptimizerState(optimizer),
      };
      return state;
    }
    case 'write-state': {
      const { model, optimizer } = current();
      writeModelWeights(model, request.weights);
      await writeOptimizerState(optimizer, request.optimizer);
      return undefined;
    }
    case 'profile-start':
      profile?.session.stop();
      profile = { session: startKernelProfile(), stepMs: 0 };
      return undefined;
    case 'profile-stop': {
      // Only the steps count: the time between them is the coordinator's, not this replica's.
      const result = profile ? { ...profile.session.stop(), wallMs: profile.stepMs } : null;
      profile = null;
      return result;
    }
    case 'memory': {
      const memory: MemoryReply = {
        tensors: tf.memory().numTensors,
        buffers: tf.engine().backend.numDataIds(),
      };
      return memory;
    }
    case 'dispose': {
      if (replica) {
        replica.optimizer.dispose();
        replica.model.dispose();
        replica = null;
      }
      return undefined;
    }
  }
}

const port = parentPort;
if (!port) throw new Error('replica.ts runs as a worker thread');
// Requests are handled one at a time, in order (the coordinator never sends a second before the first's reply).
port.on('message', (message: Envelope) => {
  const { id, ...request } = message;
  handle(request as Request).then(
    (value) => port.postMessage({ id, ok: true, value } satisfies ReplyEnvelope),
    (error: unknown) =>
      port.postMessage({
        id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies ReplyEnvelope),
  );
});
