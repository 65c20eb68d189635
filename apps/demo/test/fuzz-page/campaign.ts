/** What a fuzz campaign is, and the checks that every campaign applies to an error. */
import { concat, type Mutant, mutants } from '../../../../test-utils/fuzz';

/** What one mutant gave: a valid result, a typed error with a proper message, or what went wrong. */
export type Verdict = 'valid' | 'typed' | { name: string; message: string; problem: string };

/** One mutant, ready to run through its parser. */
export interface FuzzCase {
  seed: number;
  how: string;
  run(): Promise<Verdict>;
}

/** A named series of mutants against one parser, with the same seeds and counts as its Node suite. */
export interface Campaign {
  name: string;
  /** Whether some mutants stay valid (the Node suite, or the kind of edit, says so). */
  expectsValid: boolean;
  cases(): Promise<FuzzCase[]> | FuzzCase[];
}

/** Messages that come from JavaScript itself rather than from a check that knows what went wrong. */
export const INTERNAL_MESSAGE =
  /is not (iterable|a function|an object|defined)|Cannot (read|set) propert|of (undefined|null)|Invalid (typed )?array length|allocation failed|Maximum call stack|toString|\[object /;

/** The cases that run `judge` on each of `mutants`. */
export function casesOf(
  mutants: Iterable<Mutant>,
  judge: (bytes: Uint8Array) => Promise<Verdict>,
): FuzzCase[] {
  return [...mutants].map(({ seed, how, bytes }) => ({ seed, how, run: () => judge(bytes) }));
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The verdict on an error that is none of the parser's own classes. */
export function untyped(error: unknown): Verdict {
  return { name: errorName(error), message: errorMessage(error), problem: 'not one of our error classes' };
}

/** What is wrong with a typed error's message for a user, if anything: empty, several lines, or JavaScript's own. */
export function messageProblem(message: string): string | undefined {
  if (message.trim() === '') return 'empty message';
  if (message.includes('\n')) return 'message is not one line';
  if (INTERNAL_MESSAGE.test(message)) return "message is JavaScript's own, not the parser's";
  return undefined;
}

/** The verdict on a typed error: 'typed' unless `problem` names something wrong with it. */
export function typed(error: Error, problem: string | undefined): Verdict {
  return problem === undefined ? 'typed' : { name: error.name, message: error.message, problem };
}

/**
 * `count` mutants of `bytes[from:]` (edits within its first `focus` bytes), each put back after the untouched
 * `bytes[:from]`: to get past a magic number, or to reach a structure at the end of a file.
 */
export function* mutantsAfter(
  bytes: Uint8Array,
  from: number,
  count: number,
  seed: number,
  focus = bytes.length - from,
): Generator<Mutant> {
  for (const mutant of mutants(bytes.subarray(from), count, seed, focus)) {
    yield {
      ...mutant,
      how: `after byte ${from}: ${mutant.how}`,
      bytes: concat(bytes.subarray(0, from), mutant.bytes),
    };
  }
}

/** The verdict on a result that breaks its own invariants (wrong lengths, out-of-range values). */
export function invalidResult(message: string): Verdict {
  return { name: 'invalid result', message, problem: 'a result that breaks its own invariants' };
}
