/** How the learning rate moves over a run: 'constant', or a short warm-up then a cosine decay to 0. */
export type LearningRateSchedule = 'constant' | 'cosine';

/** The learning rate at `step` (from 0) of a run of `totalSteps` steps. */
export function learningRateAt(
  schedule: LearningRateSchedule,
  baseRate: number,
  step: number,
  totalSteps: number,
): number {
  if (schedule === 'constant') return baseRate;
  // A short linear warm-up keeps Adam's first, noisy moment estimates from kicking the weights too far.
  const warmup = Math.min(200, Math.floor(totalSteps / 20));
  if (step < warmup) return (baseRate * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
  return baseRate * 0.5 * (1 + Math.cos(Math.PI * progress));
}
