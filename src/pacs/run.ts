/**
 * `cxr pacs` as a library: find new images in a PACS with QIDO-RS, score them, write the results back with
 * STOW-RS, remember what was done. Scoring is injected (`score`): the CLI passes the Predictor (local) or the queue
 * client (workers), so this module never decodes or runs a model itself and passes results through untouched.
 */
import { DecodeError } from '../data/decode-error.ts';
import type { DicomWebClient, InstanceRef } from '../dicomweb/client.ts';
import { naturalize, toPart10 } from './dataset.ts';
import { buildHeatmapCapture } from './secondary-capture.ts';
import { buildTriageSr } from './sr.ts';
import type { PacsState } from './state.ts';
import { derivedInstanceUid, type ModelIdentity } from './uids.ts';

export type WriteBack = 'sr' | 'heatmap';
export const WRITE_BACK_KINDS: readonly WriteBack[] = ['sr', 'heatmap'];
export const DEFAULT_MODALITIES: readonly string[] = ['CR', 'DX'];

/** One instance to score: `name` is its key in the worklist, `read` fetches it with WADO-RS. */
export interface PacsInput {
  name: string;
  ref: InstanceRef;
  read(): Promise<Uint8Array>;
}

/** The fields of a scoring result this module reads; everything else passes through as the scorer made it. */
export interface ScoredResult {
  name: string;
  /** scored | rejected (the input gate refused it) | failed (it could not be read). */
  status: string;
  probability?: number;
  error?: { code: string; message: string };
  warnings?: string[];
  heatmapPng?: Uint8Array;
}

export type PacsScorer<R extends ScoredResult> = (
  inputs: PacsInput[],
  options: { heatmaps: boolean },
) => Promise<R[]>;

/** Something worth telling the user that is not a worklist row. */
export interface PacsEvent {
  kind: 'found' | 'already-done' | 'write-back-failed' | 'written';
  message: string;
}

export interface PacsRunOptions<R extends ScoredResult> {
  client: DicomWebClient;
  score: PacsScorer<R>;
  model: ModelIdentity;
  /** The threshold the flag in the SR is set at (the model's, unless overridden). */
  threshold: number;
  /** QIDO-RS Modality filters, one search each (default CR, DX). */
  modalities?: readonly string[];
  /** Only studies from this date on (YYYYMMDD). */
  since?: string;
  writeBack?: readonly WriteBack[];
  state: PacsState;
  /** Instances scored per call to `score`; a stop request waits for the batch in flight (default 4). */
  batchSize?: number;
  /** QIDO-RS page size. */
  pageSize?: number;
  /** Aborting stops after the batch in flight. */
  signal?: AbortSignal;
  onResult?: (result: R, ref: InstanceRef) => void | Promise<void>;
  /** `done` of `total` instances to score in this cycle. */
  onProgress?: (done: number, total: number) => void;
  onEvent?: (event: PacsEvent) => void;
}

export interface PacsCycleResult<R extends ScoredResult> {
  results: R[];
  /** Worklist key → the instance it stands for. */
  refs: Map<string, InstanceRef>;
  /** Instances the searches returned, and how many of them were already done. */
  found: number;
  alreadyDone: number;
  /** Scored instances whose SR or overlay could not be stored (their rows carry a warning). */
  writeBackFailures: number;
}

export const DEFAULT_PACS_BATCH_SIZE = 4;
/** Decoding errors that will not change on a retry: such an instance is remembered and not fetched again. */
const PERMANENT_ERRORS = new Set(['empty', 'unsupported', 'corrupt', 'too-large']);
const SR_CLASS_PREFIX = '1.2.840.10008.5.1.4.1.1.88.';

/** The worklist key of an instance: its DICOMweb path, which holds the three UIDs and nothing else. */
export function instanceKey(ref: InstanceRef): string {
  return `studies/${ref.study}/series/${ref.series}/instances/${ref.instance}`;
}

/** A scorer input that retrieves `ref` when read; PACS failures become `unreadable` decode errors. */
export function pacsInput(client: DicomWebClient, ref: InstanceRef): PacsInput {
  return {
    name: instanceKey(ref),
    ref,
    async read() {
      try {
        return await client.retrieveInstance(ref);
      } catch (err) {
        throw new DecodeError('unreadable', (err as Error).message);
      }
    },
  };
}

/** New instances: searched per modality, minus structured reports and what the state says is done. */
async function findCandidates<R extends ScoredResult>(options: PacsRunOptions<R>) {
  const { client, state } = options;
  const modalities = options.modalities && options.modalities.length > 0 ? options.modalities : [undefined];
  const studyDate = options.since ? `${options.since}-` : undefined;
  const candidates: InstanceRef[] = [];
  const seen = new Set<string>();
  let found = 0;
  let alreadyDone = 0;
  for (const modality of modalities) {
    for await (const ref of client.searchInstances({ modality, studyDate }, options.pageSize)) {
      if (seen.has(ref.instance) || ref.sopClass?.startsWith(SR_CLASS_PREFIX)) continue;
      seen.add(ref.instance);
      found++;
      if (state.has(ref.instance)) alreadyDone++;
      else candidates.push(ref);
    }
  }
  return { candidates, found, alreadyDone };
}

/** Drops candidates whose SR from this model version is already in their study (a run without a state file). */
async function withoutStoredSrs<R extends ScoredResult>(
  candidates: InstanceRef[],
  options: PacsRunOptions<R>,
): Promise<{ remaining: InstanceRef[]; skipped: number }> {
  const srsByStudy = new Map<string, Set<string>>();
  for (const study of new Set(candidates.map((ref) => ref.study))) {
    const uids = new Set<string>();
    try {
      for await (const sr of options.client.searchInstances({ study, modality: 'SR' }, options.pageSize))
        uids.add(sr.instance);
    } catch {
      // Unknown: score again; the SR's UID is derived, so storing it again replaces rather than duplicates.
    }
    srsByStudy.set(study, uids);
  }
  const remaining: InstanceRef[] = [];
  let skipped = 0;
  for (const ref of candidates) {
    if (srsByStudy.get(ref.study)?.has(derivedInstanceUid('sr', ref.instance, options.model))) {
      options.state.record(ref.instance, { study: ref.study, series: ref.series, outcome: 'scored' });
      skipped++;
    } else remaining.push(ref);
  }
  return { remaining, skipped };
}

/** Stores the SR (and overlay) for one scored result into its study. */
async function writeBack<R extends ScoredResult>(result: R, ref: InstanceRef, options: PacsRunOptions<R>) {
  const kinds = options.writeBack ?? [];
  const source = naturalize(await options.client.retrieveMetadata(ref));
  const probability = result.probability!;
  const files: Uint8Array[] = [];
  if (kinds.includes('sr')) {
    const finding = {
      probability,
      threshold: options.threshold,
      flagged: probability >= options.threshold,
      model: options.model,
    };
    files.push(toPart10(buildTriageSr(source, finding)));
  }
  if (kinds.includes('heatmap') && result.heatmapPng) {
    files.push(toPart10(await buildHeatmapCapture(source, result.heatmapPng, options.model)));
  }
  if (files.length > 0) await options.client.store(ref.study, files);
}

/** One pass: search, skip what is done, score in batches, write back, remember. */
export async function pacsCycle<R extends ScoredResult>(
  options: PacsRunOptions<R>,
): Promise<PacsCycleResult<R>> {
  const { state } = options;
  const kinds = options.writeBack ?? [];
  const { candidates, found, alreadyDone } = await findCandidates(options);
  let todo = candidates;
  let done = alreadyDone;
  if (kinds.includes('sr') && todo.length > 0) {
    const { remaining, skipped } = await withoutStoredSrs(todo, options);
    todo = remaining;
    done += skipped;
  }
  options.onEvent?.({
    kind: 'found',
    message: `${found} instance(s) found, ${done} already scored by ${options.model.name} ${options.model.version}, ${todo.length} to score`,
  });
  const refs = new Map<string, InstanceRef>();
  const results: R[] = [];
  let writeBackFailures = 0;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_PACS_BATCH_SIZE);
  options.onProgress?.(0, todo.length);
  for (let start = 0; start < todo.length; start += batchSize) {
    if (options.signal?.aborted) break;
    const inputs = todo.slice(start, start + batchSize).map((ref) => pacsInput(options.client, ref));
    for (const input of inputs) refs.set(input.name, input.ref);
    const scored = await options.score(inputs, { heatmaps: kinds.includes('heatmap') });
    for (const result of scored) {
      const ref = refs.get(result.name)!;
      // Only a scored image gets an SR: a rejected one may carry a probability, but it is not a triage score.
      const ok = result.status === 'scored' && result.probability !== undefined;
      let stored = true;
      if (ok && kinds.length > 0) {
        try {
          await writeBack(result, ref, options);
          options.onEvent?.({ kind: 'written', message: `${kinds.join('+')} stored for ${result.name}` });
        } catch (err) {
          stored = false;
          writeBackFailures++;
          const message = `write-back failed: ${(err as Error).message}`;
          result.warnings = [...(result.warnings ?? []), message];
          options.onEvent?.({ kind: 'write-back-failed', message: `${result.name}: ${message}` });
        }
      }
      delete result.heatmapPng;
      const permanent =
        result.status === 'rejected' || (result.error && PERMANENT_ERRORS.has(result.error.code));
      if (ok && stored)
        state.record(ref.instance, { study: ref.study, series: ref.series, outcome: 'scored' });
      else if (permanent)
        state.record(ref.instance, { study: ref.study, series: ref.series, outcome: 'rejected' });
      await options.onResult?.(result, ref);
      results.push(result);
    }
    options.onProgress?.(results.length, todo.length);
    await state.save();
  }
  await state.save();
  return { results, refs, found, alreadyDone: done, writeBackFailures };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Polls until `signal` aborts: a cycle, then `intervalMs` of waiting. A cycle that fails as a whole (PACS down)
 * is reported through `onCycleError` and retried at the next poll.
 */
export async function pacsWatch<R extends ScoredResult>(
  options: PacsRunOptions<R> & {
    intervalMs: number;
    onCycle: (cycle: PacsCycleResult<R>) => void | Promise<void>;
    onCycleError: (err: Error) => void;
  },
): Promise<void> {
  while (!options.signal?.aborted) {
    try {
      await options.onCycle(await pacsCycle(options));
    } catch (err) {
      options.onCycleError(err as Error);
    }
    await pause(options.intervalMs, options.signal);
  }
}
