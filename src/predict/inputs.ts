/**
 * Turns command-line PATHs (files, directories searched recursively, glob patterns) into lazy predictor inputs.
 * Only names are collected here; bytes are read when an input's batch is decoded, so memory stays flat for
 * folders of thousands of full-resolution images.
 */
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fsErrorMessage } from '../core/fs-errors.ts';
import type { BadFile } from '../core/types.ts';
import { SUPPORTED_FORMATS_TEXT, sniffFormat } from '../data/decode.ts';
import { DecodeError } from '../data/decode-error.ts';
import { walkFiles } from '../data/walk.ts';
import type { LazyPredictInput } from './types.ts';

/**
 * Extensions always taken when walking a directory. DICOM files often have no extension at all, so
 * extension-less files are taken too; any other file is taken when its first bytes are a supported image, and
 * otherwise listed as skipped, with the reason (never dropped silently).
 */
export const IMAGE_EXTENSIONS: readonly string[] = [
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.tif',
  '.tiff',
  '.dcm',
  '.dicom',
  '.dic',
];

/** Bytes read to recognise a file with another extension (DICOM's magic sits at 128). */
const SNIFF_BYTES = 132;

/** Names that are never images even though they have no extension (the DICOM media directory index). */
const NON_IMAGE_NAMES = new Set(['DICOMDIR']);

/** A lazy input backed by a file; `read` fails with a DecodeError naming the problem. */
export function fileInput(file: string, name: string = file): LazyPredictInput {
  return {
    name,
    async read() {
      try {
        const bytes = await readFile(file);
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      } catch (err) {
        throw new DecodeError('unreadable', fsErrorMessage(err));
      }
    },
  };
}

/** An input that always fails (a PATH that does not exist, a pattern that matches nothing). */
function failingInput(name: string, message: string): LazyPredictInput {
  return { name, read: () => Promise.reject(new DecodeError('unreadable', message)) };
}

export function hasGlobSyntax(pattern: string): boolean {
  return /[*?[\]{}]/.test(pattern);
}

/** Why a file found in a folder is not taken as an input, or null to take it. */
async function skipReason(file: string): Promise<string | null> {
  const base = path.basename(file);
  if (NON_IMAGE_NAMES.has(base.toUpperCase())) return 'a DICOM directory index, not an image';
  const ext = path.extname(base).toLowerCase();
  if (ext === '' || IMAGE_EXTENSIONS.includes(ext)) return null;
  let head: Uint8Array;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = new Uint8Array(SNIFF_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    // Unreadable: take it, so reading it reports the problem as a failed row.
    return null;
  }
  if (sniffFormat(head) !== null) return null;
  return `not an image (${SUPPORTED_FORMATS_TEXT} expected)`;
}

/** Converts one path segment of a glob (`*`, `?`, `[abc]`, `{a,b}`) to an anchored regular expression. */
function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        const body = segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = end;
      }
    } else if (ch === '{') {
      const end = segment.indexOf('}', i + 1);
      if (end < 0) source += '\\{';
      else {
        const options = segment
          .slice(i + 1, end)
          .split(',')
          .map(escapeRegExp);
        source += `(?:${options.join('|')})`;
        i = end;
      }
    } else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches a relative path (split into segments) against glob segments, with `**` spanning any depth. */
function matchSegments(parts: string[], globs: (RegExp | '**')[]): boolean {
  if (globs.length === 0) return parts.length === 0;
  const [head, ...rest] = globs;
  if (head === '**') {
    for (let skip = 0; skip <= parts.length; skip++) if (matchSegments(parts.slice(skip), rest)) return true;
    return false;
  }
  return parts.length > 0 && head.test(parts[0]) && matchSegments(parts.slice(1), rest);
}

/** Files matching a glob pattern, in sorted order. Supports `*`, `?`, `[...]`, `{a,b}` and `**`. */
export async function globFiles(pattern: string): Promise<string[]> {
  const normalised = pattern.split(path.sep).join('/');
  const segments = normalised.split('/');
  const firstGlob = segments.findIndex(hasGlobSyntax);
  const baseParts = segments.slice(0, firstGlob);
  const base = baseParts.length === 0 ? '.' : baseParts.join('/') || '/';
  const globs = segments.slice(firstGlob).map((s) => (s === '**' ? '**' : segmentRegExp(s)));
  const baseStat = await stat(base).catch(() => null);
  if (!baseStat?.isDirectory()) return [];
  return walkFiles(base, { keep: (file) => matchSegments(path.relative(base, file).split(path.sep), globs) });
}

/** The inputs found for some PATHs, and the files inside given folders that were not taken (with why). */
export interface ExpandedPaths {
  inputs: LazyPredictInput[];
  skipped: BadFile[];
}

/**
 * Expands PATHs into lazy inputs, without duplicates and in a stable order. A PATH that does not exist, or a
 * pattern that matches nothing, becomes an input that fails with a clear error, so it shows up as a bad row.
 * Files inside a folder that are not images are returned in `skipped` with the reason; a file named
 * explicitly is always an input (a non-image then fails with a clear error).
 */
export async function expandPaths(paths: string[]): Promise<ExpandedPaths> {
  const seen = new Set<string>();
  const inputs: LazyPredictInput[] = [];
  const skipped: BadFile[] = [];
  const add = (file: string) => {
    const key = path.resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    inputs.push(fileInput(file));
  };
  for (const given of paths) {
    const info = await stat(given).catch(() => null);
    if (info?.isDirectory()) {
      for (const file of await walkFiles(given)) {
        const reason = await skipReason(file);
        if (reason === null) add(file);
        else skipped.push({ path: file, reason });
      }
    } else if (info) {
      add(given);
    } else if (hasGlobSyntax(given)) {
      const matches = await globFiles(given);
      if (matches.length === 0) inputs.push(failingInput(given, 'no files match this pattern'));
      for (const file of matches) add(file);
    } else {
      inputs.push(failingInput(given, 'no such file or directory'));
    }
  }
  return { inputs, skipped };
}
