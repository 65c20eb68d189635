/**
 * Seeded byte mutations for the parsers' fuzz tests, shared by every package (tests only, never published).
 * The same seed always gives the same mutants, so a failure names a seed that reproduces it.
 */
import { createRng } from '../packages/data/src/random';

/** Byte values that tend to break length and count fields: zeros, all ones, sign bits, off-by-ones. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** One mutant of `bytes` and how it was made (for the failure message). */
export interface Mutant {
  seed: number;
  how: string;
  bytes: Uint8Array;
}

/**
 * `count` mutants of `bytes`, each from one to four edits: flip a bit, set a byte to an interesting value,
 * overwrite a 32-bit word (big- or little-endian) with 0, 1, 2^31 or 2^32-1, cut the tail, insert or delete
 * a run of bytes. `focus` limits the edits to the first `focus` bytes (a header), where they matter most.
 */
export function* mutants(
  bytes: Uint8Array,
  count: number,
  seed = 1,
  focus = bytes.length,
): Generator<Mutant> {
  for (let i = 0; i < count; i++) {
    const random = createRng(seed + i * 7919);
    // A copy, never a view: Buffer.prototype.slice shares memory, and the edits below are in place.
    let out: Uint8Array = Uint8Array.from(bytes);
    const edits: string[] = [];
    for (let e = 1 + random.int(4); e > 0; e--) {
      const span = Math.max(1, Math.min(focus, out.length));
      const at = random.int(span);
      switch (random.int(6)) {
        case 0:
          if (out.length > 0) out[at] = out[at]! ^ (1 << random.int(8));
          edits.push(`flip bit at ${at}`);
          break;
        case 1:
          if (out.length > 0) out[at] = INTERESTING[random.int(INTERESTING.length)]!;
          edits.push(`set byte ${at}`);
          break;
        case 2: {
          const word = [0, 1, 0x80000000, 0xffffffff][random.int(4)]!;
          const little = random.int(2) === 1;
          if (at + 4 <= out.length)
            new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(at, word, little);
          edits.push(`word ${word} at ${at}${little ? ' (LE)' : ''}`);
          break;
        }
        case 3: {
          const length = random.int(out.length + 1);
          out = out.slice(0, length);
          edits.push(`cut to ${length}`);
          break;
        }
        case 4: {
          const run = new Uint8Array(1 + random.int(16)).map(() => random.int(256));
          out = concat(out.subarray(0, at), run, out.subarray(at));
          edits.push(`insert ${run.length} at ${at}`);
          break;
        }
        default: {
          const length = 1 + random.int(16);
          out = concat(out.subarray(0, at), out.subarray(at + length));
          edits.push(`delete ${length} at ${at}`);
        }
      }
    }
    yield { seed: seed + i * 7919, how: edits.join(', '), bytes: out };
  }
}

/** The parts, one after another, in a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
