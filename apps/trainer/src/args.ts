import { parseArgs } from 'node:util';
import { UsageError } from './errors';

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

/**
 * `util.parseArgs` in strict mode, with its errors turned into one-line usage errors.
 * Unknown flags and missing values are errors, never silently ignored.
 */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals,
    });
  } catch (error) {
    // Node's messages span lines; the CLI's errors are one line.
    const message = (error as Error).message
      .replace(/\. To specify a positional argument.*$/s, '')
      .replace(/\s*\n\s*/g, ' ');
    throw new UsageError(message, command);
  }
}

/** Parses a flag that must be a whole number in [min, max]. */
export function intFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be a whole number ${range}, got '${value}'`);
  }
  return n;
}

/** A plain decimal number, with an optional exponent: what people type for a learning rate (3e-3, 0.001). */
const DECIMAL = /^\+?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * Parses a flag that must be a finite number greater than zero, written in decimal. `Number()` alone
 * would also take '0x10', '0b1', ' 1 ' and 'Infinity', which are more likely slips than intent.
 */
export function positiveFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!DECIMAL.test(value) || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} must be a number greater than 0, got '${value}'`);
  }
  return n;
}

/** Parses a flag whose value must be one of a fixed list. */
export function choiceFlag<C extends string>(
  name: string,
  value: string | undefined,
  choices: readonly C[],
  fallback: C,
): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${value}'`);
  }
  return value as C;
}
