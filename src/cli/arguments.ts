/**
 * Parsers for numeric CLI options, shared by every command so that a bad value gets the same clear message
 * everywhere (commander prints it with the option's name).
 */
import { InvalidArgumentError } from 'commander';
import { describeBounds, type NumberBounds, withinBounds } from '../core/bounds.ts';

/** A numeric option within `bounds` (e.g. a training setting's, from TRAIN_CONFIG_BOUNDS). */
export function boundedArg(bounds: NumberBounds): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !withinBounds(n, bounds)) {
      throw new InvalidArgumentError(`expected ${describeBounds(bounds)}`);
    }
    return n;
  };
}

/** An integer option that must be at least `min`. */
export function integerArg(min: number): (value: string) => number {
  return boundedArg({ integer: true, min });
}

/** A probability in [0, 1] (a threshold). */
export function probabilityArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError('expected a number between 0 and 1');
  }
  return n;
}

/**
 * This process's command line as it would be typed again (`npm run -s cxr -- …`, arguments shell-quoted where
 * needed), without the flags in `drop`: what metadata.json records so a result can be reproduced.
 */
export function recordedCommand(drop: readonly string[] = []): string {
  const args = process.argv.slice(2).filter((a) => !drop.includes(a));
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  return `npm run -s cxr -- ${quoted.join(' ')}`;
}
