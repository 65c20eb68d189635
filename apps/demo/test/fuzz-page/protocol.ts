/** What the fuzz page, its worker and the Node test tell each other (types only, so Node can import it). */

/** The input files, by name, as the Node test serves them under `inputs/`. */
export const INPUT_FILES = [
  // The first 100 real MNIST test images and labels, the header's count rewritten to match.
  'images.idx',
  'labels.idx',
  // The same two files gzipped by Node's zlib (the gzip-stream campaigns mutate these exact bytes).
  'images.idx.gz',
  'labels.idx.gz',
  'seed-lenet5.pt',
  'transposed.pt',
  'int64-weights.pt',
  'deflated.pt',
  'seed-lenet5.safetensors',
  // The demo's shipped weights.
  'model.json',
  'weights.bin',
] as const;

export type InputName = (typeof INPUT_FILES)[number];
export type FuzzInputs = Record<InputName, Uint8Array>;

/** One mutant that broke the rule: an untyped error, a bad message, an invalid result, or no answer in time. */
export interface Failure {
  seed: number;
  how: string;
  /** The error's name (TypeError, IdxFormatError...), or 'no answer', 'invalid result' or 'leak'. */
  name: string;
  message: string;
  /** Which rule it broke. */
  problem: string;
}

/** What one mutant gave: a valid result, a typed error with a proper message, or a failure. */
export type Outcome = { kind: 'valid' } | { kind: 'typed' } | { kind: 'failure'; failure: Failure };

/** What one campaign found in Chromium. */
export interface CampaignSummary {
  campaign: string;
  /** Whether this campaign's mutants sometimes stay valid, so that a run with no valid result is suspect. */
  expectsValid: boolean;
  /** How many mutants the campaign made, and how many of them gave an answer (valid, typed or failure). */
  planned: number;
  answered: number;
  valid: number;
  typed: number;
  failures: Failure[];
}

/** Page to worker: name the campaigns, or run one from its mutant number `from` (the page restarts past a hang). */
export type PageMessage =
  | { type: 'list'; inputs: FuzzInputs }
  | { type: 'run'; campaign: string; from: number; inputs: FuzzInputs };

/**
 * Worker to page. For 'run': the mutant count, then for each mutant its start and its outcome, then done;
 * 'crashed' if the campaign could not be set up.
 */
export type WorkerMessage =
  | { type: 'campaigns'; names: string[] }
  | { type: 'planned'; count: number; expectsValid: boolean }
  | { type: 'start'; index: number; seed: number; how: string }
  | { type: 'outcome'; index: number; outcome: Outcome }
  | { type: 'done' }
  | { type: 'crashed'; message: string };

declare global {
  interface Window {
    /** Runs every campaign in a worker and resolves with their summaries (set by main.ts). */
    runFuzz?: () => Promise<CampaignSummary[]>;
  }
}
