/**
 * Finding the images of a dataset in the Kaggle layout: `ROOT/{train,val,test}/{NORMAL,PNEUMONIA}/*` or, for a
 * single split, `ROOT/{NORMAL,PNEUMONIA}/*`. Files are recognised by their first bytes, not their extension, so
 * a text file named `.jpeg` is reported as bad instead of failing later inside a training run.
 */
import type { Dirent } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fsErrorMessage } from '../core/fs-errors.ts';
import type { ProgressCallback } from '../core/progress.ts';
import {
  type BadFile,
  CLASS_NAMES,
  type ClassName,
  type ImageRecord,
  type SplitName,
} from '../core/types.ts';
import { SUPPORTED_FORMATS_TEXT, sniffFormat } from './decode.ts';
import { parseImageName } from './names.ts';
import { mapPool } from './pool.ts';
import { entryKind, walkFiles } from './walk.ts';

/** Split folder names recognised under the root (matched case-insensitively). */
export const SPLIT_FOLDERS: readonly Exclude<SplitName, 'all'>[] = ['train', 'val', 'test'];

/** Bytes read from each file to recognise its format (enough for JPEG, PNG and DICOM's 132-byte preamble). */
const SNIFF_BYTES = 256;
/** Files stat-ed and sniffed at once; I/O bound, so more than the core count. */
const SCAN_CONCURRENCY = 32;

/** Reads up to `length` bytes from the start of `file`. */
export type ReadHead = (file: string, length: number) => Promise<Uint8Array>;

export interface DiscoverOptions {
  onProgress?: ProgressCallback;
  /**
   * How the first bytes of each file are read to recognise its format (default: from disk). A seam for tests: a
   * failing reader stands in for an unreadable file, which root, who reads everything, cannot otherwise create.
   */
  readHead?: ReadHead;
}

/** What `discoverDataset` found: usable images and the files it had to skip, both sorted by path. */
export interface DiscoveredDataset {
  /** Absolute dataset root. */
  root: string;
  records: ImageRecord[];
  bad: BadFile[];
}

interface ClassFolder {
  dir: string;
  split: SplitName;
  label: ClassName;
}

interface Candidate {
  path: string;
  split: SplitName;
  label: ClassName;
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`cannot read dataset folder ${dir}: ${fsErrorMessage(err)}`);
  }
}

function matchClass(name: string): ClassName | null {
  return CLASS_NAMES.find((c) => c.toLowerCase() === name.toLowerCase()) ?? null;
}

async function classFoldersIn(dir: string, entries: Dirent[], split: SplitName): Promise<ClassFolder[]> {
  const folders: ClassFolder[] = [];
  for (const e of entries) {
    const label = matchClass(e.name);
    if (label && (await entryKind(dir, e)) === 'directory')
      folders.push({ dir: path.join(dir, e.name), split, label });
  }
  return folders;
}

/** The class folders of the dataset at `root`, or a clear error when it is not in the Kaggle layout. */
async function findClassFolders(root: string): Promise<ClassFolder[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch (err) {
    throw new Error(`dataset folder ${root} not found: ${fsErrorMessage(err)}`);
  }
  if (!info.isDirectory()) throw new Error(`dataset path ${root} is not a folder`);
  const entries = await listDir(root);
  const folders: ClassFolder[] = [];
  for (const e of entries) {
    const split = SPLIT_FOLDERS.find((s) => s === e.name.toLowerCase());
    if (!split || (await entryKind(root, e)) !== 'directory') continue;
    const splitDir = path.join(root, e.name);
    folders.push(...(await classFoldersIn(splitDir, await listDir(splitDir), split)));
  }
  if (folders.length === 0) folders.push(...(await classFoldersIn(root, entries, 'all')));
  if (folders.length === 0) {
    throw new Error(
      `no dataset found in ${root}: expected ${CLASS_NAMES.join('/')} folders, either directly or under ` +
        `${SPLIT_FOLDERS.join('/')} split folders`,
    );
  }
  return folders;
}

/** Every non-hidden file under a class folder (sub-folders and symbolic links followed), as candidates. */
async function listCandidates(folder: ClassFolder): Promise<Candidate[]> {
  let files: string[];
  try {
    files = await walkFiles(folder.dir);
  } catch (err) {
    throw new Error(`cannot read dataset folder ${folder.dir}: ${fsErrorMessage(err)}`);
  }
  return files.map((file) => ({ path: file, split: folder.split, label: folder.label }));
}

const readHeadFromDisk: ReadHead = async (file, length) => {
  const handle = await open(file, 'r');
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
};

/** Checks one file: a record when it looks like a supported image, a BadFile with the reason otherwise. */
async function inspect(candidate: Candidate, readHead: ReadHead): Promise<ImageRecord | BadFile> {
  let info: Awaited<ReturnType<typeof stat>>;
  let head: Uint8Array;
  try {
    info = await stat(candidate.path);
    if (!info.isFile()) return { path: candidate.path, reason: 'not a regular file' };
    if (info.size === 0) return { path: candidate.path, reason: 'file is empty (0 bytes)' };
    head = await readHead(candidate.path, SNIFF_BYTES);
  } catch (err) {
    return { path: candidate.path, reason: `cannot read file: ${fsErrorMessage(err)}` };
  }
  if (sniffFormat(head) === null) {
    return {
      path: candidate.path,
      reason: `not a supported image format (expected ${SUPPORTED_FORMATS_TEXT})`,
    };
  }
  const { patientId, subtype } = parseImageName(candidate.path);
  const labelIndex = CLASS_NAMES.indexOf(candidate.label) as 0 | 1;
  return {
    path: candidate.path,
    split: candidate.split,
    label: candidate.label,
    labelIndex,
    patientId,
    // A subtype only means something for pneumonia images; NORMAL files never carry one.
    subtype: candidate.label === 'PNEUMONIA' ? subtype : null,
    size: info.size,
    mtimeMs: info.mtimeMs,
  };
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Scans a dataset folder. Hidden files are ignored; empty, unreadable and non-image files are returned in
 * `bad` with a reason and never abort the scan. Throws only when `root` is missing or not a dataset.
 */
export async function discoverDataset(
  root: string,
  options: DiscoverOptions = {},
): Promise<DiscoveredDataset> {
  const absRoot = path.resolve(root);
  const folders = await findClassFolders(absRoot);
  const candidates: Candidate[] = [];
  for (const folder of folders) candidates.push(...(await listCandidates(folder)));
  let done = 0;
  const results = await mapPool(candidates, SCAN_CONCURRENCY, async (c) => {
    const result = await inspect(c, options.readHead ?? readHeadFromDisk);
    options.onProgress?.(++done, candidates.length);
    return result;
  });
  const records: ImageRecord[] = [];
  const bad: BadFile[] = [];
  for (const r of results) {
    if ('reason' in r) bad.push(r);
    else records.push(r);
  }
  return { root: absRoot, records: records.sort(byPath), bad: bad.sort(byPath) };
}

/**
 * Picks the split to use (evaluate, calibrate): the requested one, else `test` when present, else the only one.
 * An explicit choice that is absent fails with the list of present ones.
 */
export function chooseSplit(
  records: readonly ImageRecord[],
  requested: SplitName | undefined,
  root: string,
): SplitName {
  const present = [...new Set(records.map((r) => r.split))].sort();
  if (requested) {
    if (present.includes(requested)) return requested;
    if (present.length === 1 && present[0] === 'all') return 'all';
    throw new Error(`${root}: no "${requested}" split; present: ${present.join(', ') || 'none'}`);
  }
  if (present.includes('test')) return 'test';
  if (present.length === 1) return present[0];
  throw new Error(`${root} has splits ${present.join(', ')} but no test split; choose one with --split`);
}

/** One split of a discovered dataset: its folder, its usable images and the bad files under that folder. */
export interface DatasetSplit {
  split: SplitName;
  dir: string;
  records: ImageRecord[];
  bad: BadFile[];
}

/** The records and bad files of the split `chooseSplit` picks. */
export function splitOf(dataset: DiscoveredDataset, requested?: SplitName): DatasetSplit {
  const split = chooseSplit(dataset.records, requested, dataset.root);
  const dir = split === 'all' ? dataset.root : path.join(dataset.root, split);
  return {
    split,
    dir,
    records: dataset.records.filter((r) => r.split === split),
    bad: dataset.bad.filter((b) => split === 'all' || b.path.startsWith(dir + path.sep)),
  };
}
