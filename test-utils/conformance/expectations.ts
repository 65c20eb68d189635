/**
 * The assertions on what checks.ts reports, shared by the Node suite and the Chromium test, so that both hold
 * every backend to the same tolerances. Each failure names the backend, the quantity and the parameter.
 */
import { expect } from 'vitest';
import { PARAM_NAMES } from '../../packages/ops/src/model';
import {
  GRADIENT_REL_TOLERANCE,
  LOGITS_ABS_TOLERANCE,
  LOSS_ABS_TOLERANCE,
  type ReferenceErrors,
  type TrainingReport,
} from './checks';

export function expectLogitsConform(backend: string, errors: ReferenceErrors): void {
  expect(errors.logits, `${backend}: max |logit - reference|`).toBeLessThanOrEqual(LOGITS_ABS_TOLERANCE);
}

/** `path` 'tape' is tf.variableGrads; 'fused' is LeNet5.lossAndGradients. */
export function expectGradientsConform(
  backend: string,
  errors: ReferenceErrors,
  path: 'tape' | 'fused',
): void {
  const how = path === 'tape' ? 'tf.variableGrads' : 'LeNet5.lossAndGradients';
  expect(errors.loss[path], `${backend}: |loss - reference| through ${how}`).toBeLessThanOrEqual(
    LOSS_ABS_TOLERANCE,
  );
  for (const name of PARAM_NAMES) {
    expect
      .soft(
        errors.gradients[path][name],
        `${backend}: relative error of the gradient of ${name} through ${how}`,
      )
      .toBeLessThanOrEqual(GRADIENT_REL_TOLERANCE);
  }
}

export function expectTrainingConforms(backend: string, report: TrainingReport): void {
  const { losses, repeatedLosses, tensorsAfterStep } = report;
  expect(losses.at(-1)!, `${backend}: last loss of ${losses.join(', ')}`).toBeLessThan(losses[0]!);
  // The optimizer makes its slots on the first step; every later step must leave the count unchanged.
  expect(tensorsAfterStep.slice(1), `${backend}: tensors after each step but the first`).toEqual(
    tensorsAfterStep.slice(1).map(() => tensorsAfterStep[1]),
  );
  expect(repeatedLosses, `${backend}: losses of the second run from the same weights`).toEqual(losses);
  expect(report.differingWeights, `${backend}: weights that differ between two runs`).toEqual([]);
  expect(report.tensorsAfter, `${backend}: tensors after both runs`).toBe(report.tensorsBefore);
}
