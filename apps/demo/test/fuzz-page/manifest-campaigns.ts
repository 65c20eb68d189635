/**
 * The campaigns of packages/node/src/io-fuzz.test.ts (same seeds and counts), in Chromium: mutants of the
 * demo's real model.json through the ops rule (checkWeightsManifest) and through the browser loader
 * (loadWeightsFromUrl of @lenet/web), which must agree.
 */
import {
  checkWeightsManifest,
  MAX_WEIGHTS_BYTES,
  NonFiniteWeightsError,
  WeightsFormatError,
  WeightsManifestError,
} from '@lenet/ops';
import { loadWeightsFromUrl, WeightsLoadError } from '@lenet/web';
import * as tf from '@tensorflow/tfjs-core';
import { mutants } from '../../../../test-utils/fuzz';
import { structuralMutants } from '../../../../test-utils/manifest-mutants';
import {
  type Campaign,
  casesOf,
  INTERNAL_MESSAGE,
  messageProblem,
  typed,
  untyped,
  type Verdict,
} from './campaign';
import type { FuzzInputs } from './protocol';

/**
 * Where the loader is told model.json is: beside the real weights.bin that the test serves, so the weights
 * come over real HTTP. The worker runs from assets/, the inputs lie in inputs/.
 */
const MANIFEST_URL = new URL('../inputs/model.json', self.location.href).href;

/**
 * The browser's own fetch, except that the manifest's address answers with the mutant (a real Response, so
 * the loader reads a real stream): the only way to hand a mutant to the loader without a server per mutant.
 */
function fetchWithManifest(manifest: Uint8Array): typeof fetch {
  return (input, init) =>
    String(input) === MANIFEST_URL
      ? Promise.resolve(new Response(manifest as Uint8Array<ArrayBuffer>))
      : fetch(input, init);
}

function parseOrUndefined(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/** What the rule says of the mutant's weightsManifest: its error message, or a verdict when the rule broke. */
function judgeRule(bytes: Uint8Array): { refusal?: string; broken?: Verdict } {
  const parsed = parseOrUndefined(bytes);
  if (typeof parsed !== 'object' || parsed === null || !('weightsManifest' in parsed)) return {};
  try {
    const checked = checkWeightsManifest(parsed.weightsManifest);
    if (checked.byteLength <= MAX_WEIGHTS_BYTES) return {};
    const message = `accepted ${checked.byteLength} bytes of weights`;
    return { broken: { name: 'rule', message, problem: 'past MAX_WEIGHTS_BYTES' } };
  } catch (error) {
    if (!(error instanceof WeightsManifestError)) return { broken: untyped(error) };
    const problem =
      messageProblem(error.message) ??
      (error.entry.startsWith('weightsManifest')
        ? undefined
        : `entry ${error.entry} is not in weightsManifest`);
    return problem === undefined ? { refusal: error.message } : { broken: typed(error, problem) };
  }
}

/** The rule, then the loader: a loaded model or a typed refusal that, when the rule refused, is the rule's. */
async function judgeManifest(bytes: Uint8Array): Promise<Verdict> {
  const rule = judgeRule(bytes);
  if (rule.broken) return rule.broken;
  const before = tf.memory().numTensors;
  let refusal: unknown;
  try {
    const { model } = await loadWeightsFromUrl(MANIFEST_URL, { fetch: fetchWithManifest(bytes) });
    model.dispose();
  } catch (error) {
    refusal = error;
  }
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0)
    return { name: 'leak', message: `${leaked} tensors left`, problem: 'tensors not disposed' };
  if (refusal === undefined) {
    if (rule.refusal === undefined) return 'valid';
    return { name: 'loaded', message: rule.refusal, problem: 'the loader accepted what the rule refused' };
  }
  const known = [WeightsLoadError, WeightsFormatError, NonFiniteWeightsError].some(
    (type) => refusal instanceof type,
  );
  if (!known) return untyped(refusal);
  const error = refusal as Error;
  if (INTERNAL_MESSAGE.test(error.message))
    return typed(error, "message is JavaScript's own, not the loader's");
  if (error instanceof WeightsFormatError) {
    return typed(error, error.problems.length > 0 ? undefined : 'lists no problems');
  }
  if (error instanceof WeightsLoadError) {
    const problem =
      messageProblem(error.message) ??
      (rule.refusal !== undefined && error.message !== `${MANIFEST_URL}: ${rule.refusal}`
        ? `the rule refused with "${rule.refusal}", the loader differently`
        : undefined);
    return typed(error, problem);
  }
  return 'typed';
}

export function manifestCampaigns(inputs: FuzzInputs): Campaign[] {
  const original = inputs['model.json'];
  return [
    {
      name: 'model.json text, byte-level mutants, through the rule and loadWeightsFromUrl',
      expectsValid: true,
      cases: () => casesOf(mutants(original, 300, 1), judgeManifest),
    },
    {
      name: 'model.json manifest, structural mutants, through the rule and loadWeightsFromUrl',
      expectsValid: false,
      cases: () => casesOf(structuralMutants(original, 300, 2), judgeManifest),
    },
  ];
}
