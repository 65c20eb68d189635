/** A seeded source of random numbers: the same seed always gives the same sequence. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

/**
 * mulberry32 (Tommy Ettinger, public domain): a tiny 32-bit generator, good enough for shuffling and
 * augmentation and identical in every JavaScript engine.
 */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

/**
 * Mixes a seed with stream numbers (e.g. an epoch) into a new 32-bit seed, so that (seed, epoch) pairs give
 * unrelated sequences. Uses the murmur3 finaliser after each step.
 */
export function deriveSeed(seed: number, ...streams: number[]): number {
  let h = seed >>> 0;
  for (const stream of streams) {
    h = mix32((h ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0);
  }
  return mix32(h);
}

function mix32(x: number): number {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fisher-Yates shuffle of `a` in place: every permutation is equally likely. */
export function shuffleInPlace(a: Uint32Array | number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
