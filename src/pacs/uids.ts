/**
 * UIDs for the instances Pneumoscope writes. They are derived from what they describe (source instance, model name
 * and version, kind), so the same result always gets the same UID: storing it twice replaces rather than
 * duplicates, and "is our SR for this image already in the study?" is a lookup of a known UID.
 */
import { createHash } from 'node:crypto';

/** A `2.25.` UID (PS3.5 B.2) from a name-based (SHA-256, truncated, RFC 9562 version 8) UUID of `parts`. */
export function derivedUid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString(10)}`;
}

/** Name and version of the model that produced a result. */
export interface ModelIdentity {
  name: string;
  version: string;
}

export type DerivedKind = 'sr' | 'heatmap';

/** SOP Instance UID of our `kind` object for one source instance and model version. */
export function derivedInstanceUid(kind: DerivedKind, sourceInstance: string, model: ModelIdentity): string {
  return derivedUid('pneumoscope', kind, 'instance', model.name, model.version, sourceInstance);
}

/** Series Instance UID that groups our `kind` objects for one source series and model version. */
export function derivedSeriesUid(kind: DerivedKind, sourceSeries: string, model: ModelIdentity): string {
  return derivedUid('pneumoscope', kind, 'series', model.name, model.version, sourceSeries);
}
