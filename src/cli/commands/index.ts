/**
 * The list of CLI commands. Each entry adds one sub-command to the program; add a line here when adding a
 * command file.
 */
import type { Command } from 'commander';
import { registerBenchCommand } from './bench.ts';
import { registerCalibrateCommand } from './calibrate.ts';
import { registerEvaluateCommand } from './evaluate.ts';
import { registerExploreCommand } from './explore.ts';
import { registerGateCommand } from './gate.ts';
import { registerPacsCommand } from './pacs.ts';
import { registerPredictCommand } from './predict.ts';
import { registerServeCommand } from './serve.ts';
import { registerTrainCommand } from './train.ts';
import { registerWorkerCommand } from './worker.ts';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  registerExploreCommand,
  registerServeCommand,
  registerPredictCommand,
  registerTrainCommand,
  registerEvaluateCommand,
  registerCalibrateCommand,
  registerBenchCommand,
  registerGateCommand,
  registerPacsCommand,
  registerWorkerCommand,
];
