/**
 * The worklist journal: while `cxr predict --out FILE` runs, each result is appended to `FILE.partial` (JSON
 * Lines) the moment it is scored, so a run that is killed loses nothing already scored, and `--resume` scores
 * only what is missing. When the run ends, the ranked worklist is written to FILE (temporary name, then rename)
 * and the journal is deleted.
 *
 * Line 1 is a header naming the model and the options that change a row (threshold, heatmaps): a journal is
 * only resumed with the same ones. Every other line is one input: its absolute path, size and modification time
 * (an edited file is scored again) and its result. A line cut short by a kill is ignored.
 */
import { appendFile, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PredictResult } from './types.ts';

export const JOURNAL_FORMAT = 'pneumoscope-predict-journal';

/** What must match for a journal to be resumed. */
export interface JournalHeader {
  format: typeof JOURNAL_FORMAT;
  version: 1;
  model: { name: string; version: string; createdAt: string };
  threshold: number;
  heatmaps: boolean;
  /** Scored with test-time augmentation (`--tta`); absent = without. */
  tta?: boolean;
}

/** One scored (or failed) input. */
export interface JournalEntry {
  /** Absolute path of the input file. */
  file: string;
  size: number;
  mtimeMs: number;
  /** Where its heatmap PNG was written, when heatmaps were asked for. */
  heatmap?: string;
  result: Omit<PredictResult, 'heatmapPng' | 'rank'>;
}

/** The journal's file name for an output file. */
export function journalPath(out: string): string {
  return `${out}.partial`;
}

/** Why a journal cannot be resumed with this run's settings, or null when it can. */
function mismatch(found: JournalHeader, wanted: JournalHeader): string | null {
  const model = (m: JournalHeader['model']) => `${m.name} ${m.version} (${m.createdAt})`;
  if (model(found.model) !== model(wanted.model))
    return `it was written with model ${model(found.model)}, not ${model(wanted.model)}`;
  if (found.threshold !== wanted.threshold)
    return `it was written with threshold ${found.threshold}, not ${wanted.threshold}`;
  if (found.heatmaps !== wanted.heatmaps)
    return `it was written ${found.heatmaps ? 'with' : 'without'} --heatmaps`;
  if ((found.tta ?? false) !== (wanted.tta ?? false))
    return `it was written ${found.tta ? 'with' : 'without'} --tta`;
  return null;
}

/** Reads a journal: its header and entries (the latest entry per file wins). Throws on a file that is not one. */
export async function readJournal(file: string): Promise<{ header: JournalHeader; entries: JournalEntry[] }> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  let header: JournalHeader | undefined;
  try {
    header = JSON.parse(lines[0]) as JournalHeader;
  } catch {
    // handled below
  }
  if (header?.format !== JOURNAL_FORMAT || header.version !== 1)
    throw new Error(`${file} is not a cxr predict journal`);
  const byFile = new Map<string, JournalEntry>();
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as JournalEntry;
      if (typeof entry.file === 'string' && entry.result) byFile.set(entry.file, entry);
    } catch {
      // The last line of a killed run may be cut short; what it held is scored again.
    }
  }
  return { header, entries: [...byFile.values()] };
}

/** The key a file is matched on: absolute path, size and modification time. */
async function identity(name: string): Promise<{ file: string; size: number; mtimeMs: number } | null> {
  const file = path.resolve(name);
  const info = await stat(file).catch(() => null);
  return info?.isFile() ? { file, size: info.size, mtimeMs: info.mtimeMs } : null;
}

export class WorklistJournal {
  readonly path: string;
  private readonly out: string;

  private constructor(out: string) {
    this.out = out;
    this.path = journalPath(out);
  }

  /**
   * Starts the journal for `out`. With `resume`, an existing journal written with the same header is continued
   * and its entries returned (all of them; the caller decides which to reuse); without it, an existing journal
   * is refused, so an interrupted run is never silently thrown away.
   */
  static async open(
    out: string,
    header: JournalHeader,
    options: { resume: boolean },
  ): Promise<{ journal: WorklistJournal; entries: JournalEntry[] }> {
    const journal = new WorklistJournal(out);
    const exists = await stat(journal.path).then(
      () => true,
      () => false,
    );
    if (exists && !options.resume) {
      throw new Error(
        `${journal.path} holds the rows of an interrupted run: add --resume to continue it, or delete it to ` +
          'start over',
      );
    }
    if (exists) {
      const found = await readJournal(journal.path);
      const reason = mismatch(found.header, header);
      if (reason) throw new Error(`cannot resume from ${journal.path}: ${reason}`);
      return { journal, entries: found.entries };
    }
    await writeFile(journal.path, `${JSON.stringify(header)}\n`);
    return { journal, entries: [] };
  }

  /**
   * Entries whose file is still the same (path, size, modification time) and that were scored, keyed by the
   * input name given now. Failed inputs are always tried again.
   */
  static async reusable(entries: JournalEntry[], names: string[]): Promise<Map<string, JournalEntry>> {
    const byFile = new Map(entries.map((e) => [e.file, e]));
    const reuse = new Map<string, JournalEntry>();
    for (const name of names) {
      const id = await identity(name);
      const entry = id ? byFile.get(id.file) : undefined;
      // Failed rows are tried again; rows from before the input gate (no status) are scored again.
      if (!id || !entry || entry.result.error || !entry.result.status) continue;
      if (entry.size === id.size && entry.mtimeMs === id.mtimeMs) reuse.set(name, entry);
    }
    return reuse;
  }

  /** Appends one result (one write, so a kill leaves at most the line being written incomplete). */
  async append(result: PredictResult, heatmap?: string): Promise<void> {
    const id = await identity(result.name);
    if (!id) return; // not a file on disk (a missing path): nothing a resume could match
    const { heatmapPng: _png, rank: _rank, ...rest } = result;
    const entry: JournalEntry = { ...id, ...(heatmap ? { heatmap } : {}), result: rest };
    await appendFile(this.path, `${JSON.stringify(entry)}\n`);
  }

  /** Writes the finished worklist to the output file (atomically) and deletes the journal. */
  async finish(text: string): Promise<void> {
    const temporary = `${this.out}.tmp-${process.pid}`;
    await writeFile(temporary, text);
    await rename(temporary, this.out);
    await rm(this.path, { force: true });
  }
}
