// Float arrays on shared memory for the messages of data-parallel training. Posting a typed array
// on a SharedArrayBuffer to a worker shares it: no copy, no transfer. Fresh arrays per message cost
// far more than the work they carry at LeNet's sizes: each large buffer is new memory (page faults)
// and each transfer detaches and re-wraps it, about a millisecond per step on the machine measured
// (`pnpm bench`), a fifth of a batch-64 step.

/**
 * Whether typed arrays on shared memory can cross to another thread here: always in Node, in
 * browsers only on a cross-origin-isolated page (elsewhere SharedArrayBuffer is missing).
 */
export function canShareMemory(): boolean {
  return (
    typeof SharedArrayBuffer === 'function' &&
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false
  );
}

/** A new float array on shared memory; only where {@link canShareMemory}. */
function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
}

/**
 * Shared buffers (only where {@link canShareMemory}) lent for one request each and given back when
 * its reply comes, so that a request never finds its input overwritten by a later one, whatever
 * overlaps. A request larger than every idle buffer gets a new one.
 */
export class SharedFloatPool {
  private readonly idle: Float32Array[] = [];

  /** A shared copy of `values`, lent until {@link giveBack}. */
  lend(values: Float32Array): Float32Array {
    const index = this.idle.findIndex((buffer) => buffer.length >= values.length);
    const buffer = index >= 0 ? this.idle.splice(index, 1)[0]! : sharedFloats(values.length);
    const view = buffer.subarray(0, values.length);
    view.set(values);
    return view;
  }

  /** Takes back an array {@link lend} gave out, for the next request. */
  giveBack(view: Float32Array): void {
    this.idle.push(new Float32Array(view.buffer as SharedArrayBuffer));
  }
}

/**
 * Two shared arrays (only where {@link canShareMemory}) used in turn, for results that the other
 * side may still read while the next one is made: a replica's gradients of step n are read (or
 * applied) before step n + 2 overwrites them.
 */
export class AlternatingFloats {
  private readonly buffers: [Float32Array, Float32Array];
  private next = 0;

  constructor(length: number) {
    this.buffers = [sharedFloats(length), sharedFloats(length)];
  }

  /** The array to fill now; the other one holds the previous result. */
  take(): Float32Array {
    const buffer = this.buffers[this.next]!;
    this.next = 1 - this.next;
    return buffer;
  }
}
