/**
 * Parsers for numeric CLI options, shared by every command so that a bad value gets the same clear message
 * everywhere (commander prints it with the option's name).
 */
import { InvalidArgumentError } from 'commander';

/** An integer option that must be at least `min`. */
export function integerArg(min: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected an integer >= ${min}`);
    }
    return n;
  };
}

/** A number strictly between 0 and 1 (a fraction of a set, a learning rate). */
export function fractionArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n < 1)) throw new InvalidArgumentError('expected a number in (0, 1)');
  return n;
}

/** A probability in [0, 1] (a threshold). */
export function probabilityArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError('expected a number between 0 and 1');
  }
  return n;
}
