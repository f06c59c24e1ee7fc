/**
 * Listing the files under a folder the way a user expects: symbolic links to files and folders are followed
 * (a dataset assembled from links is common), each real folder is walked once (a link loop, or two links to one
 * folder, cannot make the walk endless or list a file twice), hidden entries are skipped, and the order is
 * stable (sorted by name at every level).
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** What a directory entry is once symbolic links are followed; `broken` is a link to nothing. */
export type EntryKind = 'file' | 'directory' | 'other' | 'broken';

/** The kind of `entry` (inside `dir`), following a symbolic link to its target. */
export async function entryKind(dir: string, entry: Dirent): Promise<EntryKind> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (!entry.isSymbolicLink()) return 'other';
  const target = await stat(path.join(dir, entry.name)).catch(() => null);
  if (!target) return 'broken';
  return target.isFile() ? 'file' : target.isDirectory() ? 'directory' : 'other';
}

export interface WalkOptions {
  /** Which files to return (default: all). Broken links count as files, so reading them reports the problem. */
  keep?: (file: string) => boolean;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Every file under `dir`, recursively, in sorted order, following symbolic links. Throws when `dir` itself
 * cannot be read; a sub-folder that cannot be read is skipped.
 */
export async function walkFiles(dir: string, options: WalkOptions = {}): Promise<string[]> {
  const found: string[] = [];
  const visited = new Set<string>();
  const visit = async (folder: string, top: boolean): Promise<void> => {
    const real = await realpath(folder).catch(() => folder);
    if (visited.has(real)) return;
    visited.add(real);
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      if (top) throw err;
      return;
    }
    for (const entry of entries.sort(byName)) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(folder, entry.name);
      const kind = await entryKind(folder, entry);
      if (kind === 'directory') await visit(full, false);
      else if ((kind === 'file' || kind === 'broken') && (options.keep?.(full) ?? true)) found.push(full);
    }
  };
  await visit(dir, true);
  return found;
}
