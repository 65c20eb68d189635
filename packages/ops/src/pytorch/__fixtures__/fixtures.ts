// Reads the fixtures written by packages/ops/scripts/make-pytorch-fixtures.py (tests only).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The bytes of one fixture file. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

/** The absolute path of one fixture file. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

/** What PyTorch computed for the first 8 MNIST test images with the seed's model and preprocessing. */
export interface ExpectedOutputs {
  indices: number[];
  labels: number[];
  /** PIL's Resize((32, 32)) of the 8 images, 1024 bytes each. */
  resized32: Uint8Array;
  logits: number[][];
  probabilities: number[][];
  testAccuracy: number;
  testCorrect: number;
}

export function expectedOutputs(): ExpectedOutputs {
  const json = JSON.parse(readFileSync(fixturePath('expected.json'), 'utf8'));
  return { ...json, resized32: new Uint8Array(Buffer.from(json.resized32Base64, 'base64')) };
}

/** A .safetensors file from a header and a data section, exactly as given (to make broken ones). */
export function rawSafetensors(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

export { storedZip } from './stored-zip';
