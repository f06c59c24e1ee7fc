/** The training loop's hooks: best-weights keeping, early stopping, checkpointing and logging. */
import * as tf from '@tensorflow/tfjs-core';
import { saveCheckpoint, snapshotWeights } from './checkpoint.ts';
import type { BatchProgress, EpochContext, EpochRecord, MonitorName, TrainingHooks } from './loop.ts';

/** Holds a copy of the weights of the best epoch so far. Dispose it when training is over. */
export class BestWeights implements TrainingHooks {
  tensors: tf.Tensor[] | null;

  constructor(initial: tf.Tensor[] | null = null) {
    this.tensors = initial;
  }

  onEpochEnd({ improved, model }: EpochContext): void {
    if (!improved) return;
    this.dispose();
    this.tensors = snapshotWeights(model);
  }

  dispose(): void {
    if (this.tensors) tf.dispose(this.tensors);
    this.tensors = null;
  }
}

/** Stops training when the monitored validation metric has not improved for `patience` epochs (0 = never). */
export function earlyStopping(patience: number, monitor: MonitorName = 'loss'): TrainingHooks {
  return {
    onEpochEnd({ state, record }: EpochContext) {
      if (patience <= 0 || state.best === null) return;
      const waited = record.epoch - state.best.epoch;
      if (waited >= patience) {
        state.stopReason =
          `early stopping: validation ${monitor === 'loss' ? 'loss' : 'ROC-AUC'} has not improved for ` +
          `${waited} epochs (best ${(monitor === 'loss' ? state.best.valLoss : state.best.valAuc).toFixed(4)} ` +
          `at epoch ${state.best.epoch})`;
      }
    },
  };
}

/** Writes a checkpoint after every epoch (see checkpoint.ts). */
export function checkpointing<Config>(options: {
  dir: string;
  config: Config;
  best: BestWeights;
}): TrainingHooks {
  return {
    async onEpochEnd({ state, model, optimizer }: EpochContext) {
      await saveCheckpoint({
        dir: options.dir,
        config: options.config,
        state,
        model,
        optimizer,
        best: options.best.tensors,
      });
    },
  };
}

/** "epoch 3/20  loss 0.412 acc 0.861 auc 0.934 | val loss 0.301 acc 0.902 auc 0.968 | lr 9.5e-4 | 212 img/s 41s *" */
export function formatEpochLine(record: EpochRecord, epochs: number, improved: boolean): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  return (
    `epoch ${record.epoch}/${epochs}  loss ${f(record.trainLoss)} acc ${f(record.trainAccuracy)} ` +
    `auc ${f(record.trainAuc)} | val loss ${f(record.valLoss)} acc ${f(record.valAccuracy)} ` +
    `auc ${f(record.valAuc)} | lr ${record.learningRate.toExponential(1)} | ` +
    `${Math.round(record.imagesPerSecond)} img/s ${Math.round(record.seconds)}s${improved ? ' *' : ''}`
  );
}

/** Passes one line per epoch to `write` (the best epoch so far is marked with `*`). */
export function epochLog(write: (line: string) => void, epochs: number): TrainingHooks {
  return {
    onEpochEnd({ record, improved }: EpochContext) {
      write(formatEpochLine(record, epochs, improved));
    },
  };
}

/** Forwards per-batch progress (e.g. to a progress bar). */
export function batchProgress(onBatch: (progress: BatchProgress) => void): TrainingHooks {
  return { onBatchEnd: onBatch };
}
