/**
 * The `--state FILE` of `cxr pacs`: which instances each model version has already handled, so a later run (or the
 * next poll of `--watch`) does not score them again. Keyed by SOP Instance UID only: no patient data is kept.
 * Written atomically (temporary file + rename) after every batch, so a crash loses at most one batch's entries.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelIdentity } from './uids.ts';

export const STATE_FORMAT = 'cxr-pacs-state';
export const STATE_FORMAT_VERSION = 1;

/** What happened to one instance. `rejected`: it can never be scored (not an image, unsupported encoding). */
export interface StateEntry {
  study: string;
  series: string;
  outcome: 'scored' | 'rejected';
  /** ISO time it was handled. */
  at: string;
}

interface StateFile {
  format: typeof STATE_FORMAT;
  formatVersion: number;
  /** `name@version` → SOP Instance UID → entry. */
  models: Record<string, Record<string, StateEntry>>;
}

export function modelKey(model: ModelIdentity): string {
  return `${model.name}@${model.version}`;
}

export class PacsState {
  private readonly file: string | undefined;
  private readonly data: StateFile;
  private readonly key: string;

  private constructor(file: string | undefined, data: StateFile, model: ModelIdentity) {
    this.file = file;
    this.data = data;
    this.key = modelKey(model);
    this.data.models[this.key] ??= {};
  }

  /** Loads `file` (a missing file is an empty state); without a file the state lives in memory only. */
  static async open(file: string | undefined, model: ModelIdentity): Promise<PacsState> {
    const empty: StateFile = { format: STATE_FORMAT, formatVersion: STATE_FORMAT_VERSION, models: {} };
    if (!file) return new PacsState(undefined, empty, model);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new PacsState(file, empty, model);
      throw new Error(`cannot read state file ${file}: ${(err as Error).message}`);
    }
    let data: StateFile;
    try {
      data = JSON.parse(text) as StateFile;
    } catch {
      throw new Error(`state file ${file} is not JSON; move it away to start afresh`);
    }
    if (data.format !== STATE_FORMAT || typeof data.models !== 'object' || data.models === null) {
      throw new Error(`${file} is not a cxr pacs state file`);
    }
    return new PacsState(file, data, model);
  }

  has(instance: string): boolean {
    return this.data.models[this.key][instance] !== undefined;
  }

  record(instance: string, entry: Omit<StateEntry, 'at'>): void {
    this.data.models[this.key][instance] = { ...entry, at: new Date().toISOString() };
  }

  /** How many instances this model version has handled. */
  get size(): number {
    return Object.keys(this.data.models[this.key]).length;
  }

  async save(): Promise<void> {
    if (!this.file) return;
    await mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(this.data, null, 1)}\n`);
    await rename(temporary, this.file);
  }
}
