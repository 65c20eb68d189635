import { describe, expect, it } from 'vitest';
import { learningRateAt } from './schedule';

describe('learningRateAt', () => {
  it('keeps a constant rate', () => {
    expect(learningRateAt('constant', 1e-3, 0, 100)).toBe(1e-3);
    expect(learningRateAt('constant', 1e-3, 99, 100)).toBe(1e-3);
  });

  it('warms up linearly, peaks at the base rate, then decays to zero by cosine', () => {
    const total = 4000;
    const rates = Array.from({ length: total }, (_, step) => learningRateAt('cosine', 2e-3, step, total));
    expect(rates[0]).toBeCloseTo(2e-3 / 200, 12);
    expect(Math.max(...rates)).toBeCloseTo(2e-3, 12);
    expect(rates.indexOf(Math.max(...rates))).toBe(199);
    for (let i = 200; i < total; i++) expect(rates[i]!).toBeLessThanOrEqual(rates[i - 1]! + 1e-15);
    expect(rates[total - 1]!).toBeLessThan(1e-8);
    expect(learningRateAt('cosine', 2e-3, 200 + (total - 200) / 2, total)).toBeCloseTo(1e-3, 12);
  });
});
