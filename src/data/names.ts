/**
 * What a Kaggle chest X-ray file name tells us: the patient it belongs to and, for pneumonia, the subtype.
 * Grouping by patient matters because one child can have several images; a split that ignores this leaks.
 */
import path from 'node:path';
import type { Subtype } from '../core/types.ts';

/** Patient and subtype parsed from a file name. */
export interface ParsedImageName {
  /** The patient ID, or the whole file name when no known pattern matches (one patient per file). */
  patientId: string;
  /** `bacteria` / `virus` for `personN_<subtype>_M` names, otherwise null. */
  subtype: Subtype;
}

/** `person1234_bacteria_5678`, `person12_virus_34` (and `person447_virus_921_1`): patient `person1234`. */
const PERSON_PATTERN = /^(person\d+)_(bacteria|virus)(?:_\d+)+$/i;
/** `IM-0115-0001`, `IM-0115-0001-0002` and `NORMAL2-IM-0372-0001`: patient `IM-0115` / `NORMAL2-IM-0372`. */
const IM_PATTERN = /^((?:NORMAL\d*-)?IM-\d+)(?:-\d+)+$/i;

/**
 * Parses a file name (or a path: only the last component is used) in the Kaggle naming scheme. Unknown
 * patterns never throw: they fall back to the file name as the patient ID.
 */
export function parseImageName(fileName: string): ParsedImageName {
  const base = path.basename(fileName);
  const stem = base.replace(/\.[^.]+$/, '');
  const person = PERSON_PATTERN.exec(stem);
  if (person) return { patientId: person[1], subtype: person[2].toLowerCase() as Subtype };
  const im = IM_PATTERN.exec(stem);
  if (im) return { patientId: im[1], subtype: null };
  return { patientId: base, subtype: null };
}
