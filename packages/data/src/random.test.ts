import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed, shuffleInPlace } from './random';

describe('createRng', () => {
  it('is deterministic per seed and different across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const first = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(first);
    expect(Array.from({ length: 5 }, () => createRng(43).next())).not.toEqual(first);
  });

  it('gives floats in [0,1) with a mean near 0.5 and ints in [0,n) covering all of them', () => {
    const rng = createRng(1);
    let sum = 0;
    const seen = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const v = rng.next();
      expect(v >= 0 && v < 1).toBe(true);
      sum += v;
      seen[rng.int(10)]++;
    }
    expect(sum / 20000).toBeCloseTo(0.5, 1);
    for (const n of seen) expect(n).toBeGreaterThan(1700);
  });
});

describe('deriveSeed', () => {
  it('gives distinct seeds for distinct streams', () => {
    const seeds = new Set<number>();
    for (let epoch = 0; epoch < 100; epoch++) seeds.add(deriveSeed(5, epoch, 1));
    seeds.add(deriveSeed(6, 0, 1));
    expect(seeds.size).toBe(101);
    expect(deriveSeed(5, 3, 1)).toBe(deriveSeed(5, 3, 1));
  });
});

describe('shuffleInPlace', () => {
  it('produces a permutation, deterministic for a seed', () => {
    const a = Uint32Array.from({ length: 1000 }, (_, i) => i);
    const b = Array.from({ length: 1000 }, (_, i) => i);
    shuffleInPlace(a, createRng(9));
    shuffleInPlace(b, createRng(9));
    expect(Array.from(a)).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // Not the identity: few elements stay in place.
    expect(a.filter((v, i) => v === i).length).toBeLessThan(20);
  });

  it('puts every element in every position about equally often', () => {
    const counts = Array.from({ length: 4 }, () => new Array(4).fill(0));
    const rng = createRng(2);
    for (let t = 0; t < 8000; t++) {
      const a = [0, 1, 2, 3];
      shuffleInPlace(a, rng);
      for (const [pos, v] of a.entries()) counts[v]![pos]++;
    }
    for (const row of counts) for (const n of row) expect(n).toBeGreaterThan(1800);
  });
});
