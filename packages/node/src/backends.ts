import * as tf from '@tensorflow/tfjs-core';
import { registerFastCpuKernels } from './kernels/cpu-kernels';
import { registerWasmTrainingKernels } from './kernels/wasm-kernels';

/** The tfjs backends `@lenet/node` can set up, fastest first. */
export type NodeBackendName = 'wasm' | 'cpu';

/** What `useBackend` set up, for logs and run records. */
export interface BackendChoice {
  /** `tf.getBackend()` after setup. */
  name: string;
  /** What the caller asked for: `'auto'` or a backend name. */
  requested: string;
  /** The device in words, e.g. `'CPU, WebAssembly SIMD, 1 thread'`. */
  device: string;
  /** Faster backends that `'auto'` tried first and why each failed (empty for a named backend). */
  skipped: { name: string; reason: string }[];
}

/** A backend that was asked for by name, or every backend `'auto'` tried, could not be set up. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

interface BackendCandidate {
  name: NodeBackendName;
  /** Imports the backend's package (which registers it with tfjs) and registers our kernels for it. */
  load(): Promise<void>;
  /** Describes the device; called after the backend is active. */
  describeDevice(): Promise<string>;
  /** What a user can do when this backend fails. */
  remedy: string;
}

// Adding a backend (tfjs-node, tfjs-node-gpu, webgpu via Dawn) is one entry here, in speed order.
const candidates: readonly BackendCandidate[] = [
  {
    name: 'wasm',
    async load() {
      await import('@tensorflow/tfjs-backend-wasm');
      registerWasmTrainingKernels();
    },
    async describeDevice() {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = wasm.getThreadsCount();
      return `CPU, WebAssembly${simd ? ' SIMD' : ' (no SIMD)'}, ${threads} thread${threads === 1 ? '' : 's'}`;
    },
    remedy:
      'Check that @tensorflow/tfjs-backend-wasm@4.22.0 is installed with its dist/*.wasm files ' +
      '(reinstall with `pnpm install`).',
  },
  {
    name: 'cpu',
    async load() {
      await import('@tensorflow/tfjs-backend-cpu');
      registerFastCpuKernels();
    },
    async describeDevice() {
      return 'CPU, plain JavaScript, 1 thread';
    },
    remedy: 'Check that @tensorflow/tfjs-backend-cpu@4.22.0 is installed (reinstall with `pnpm install`).',
  },
];

/** The backend names `useBackend` accepts besides `'auto'`, fastest first (for help texts). */
export function listBackends(): readonly string[] {
  return candidates.map((candidate) => candidate.name);
}

/**
 * Sets up a tfjs backend in this process and makes it the active one.
 *
 * `'auto'` tries the backends fastest first and keeps the first that works, recording why each
 * faster one failed in `skipped`. A named backend that fails throws `BackendUnavailableError`;
 * there is never a silent fallback. Backends are process-global: this changes `tf.getBackend()`
 * for the whole process.
 *
 * @throws BackendUnavailableError when `requested` is unknown, the named backend fails, or every
 * backend fails under `'auto'`.
 */
export async function useBackend(requested: 'auto' | NodeBackendName): Promise<BackendChoice> {
  const known = listBackends().join(', ');
  if (requested === 'auto') {
    const skipped: BackendChoice['skipped'] = [];
    for (const candidate of candidates) {
      try {
        return await activate(candidate, requested, skipped);
      } catch (error) {
        skipped.push({ name: candidate.name, reason: messageOf(error) });
      }
    }
    const reasons = skipped.map((s) => `  ${s.name}: ${s.reason}`).join('\n');
    throw new BackendUnavailableError(
      `No tfjs backend could be set up (tried ${known}):\n${reasons}\n` +
        'Reinstall the dependencies with `pnpm install`.',
    );
  }
  const candidate = candidates.find((c) => c.name === requested);
  if (candidate == null) {
    throw new BackendUnavailableError(
      `Unknown backend '${String(requested)}'. Choose one of: auto, ${known}.`,
    );
  }
  try {
    return await activate(candidate, requested, []);
  } catch (error) {
    throw new BackendUnavailableError(
      `The ${candidate.name} backend could not be set up: ${messageOf(error)}\n${candidate.remedy} ` +
        `Or pick another backend (auto, ${known}).`,
      { cause: error },
    );
  }
}

async function activate(
  candidate: BackendCandidate,
  requested: string,
  skipped: BackendChoice['skipped'],
): Promise<BackendChoice> {
  await candidate.load();
  const previous = tf.getBackend() as string | null;
  // tf.setBackend resolves false on failure and only logs the cause; it then leaves tf.getBackend()
  // naming the failed backend although none is active. So capture the log, check both, and put the
  // previous backend back.
  const { result, warnings } = await collectTfjsWarnings(() => tf.setBackend(candidate.name));
  const active = tf.getBackend();
  if (!result || active !== candidate.name) {
    if (previous != null && previous !== candidate.name) await tf.setBackend(previous);
    const cause = warnings.length > 0 ? ` tfjs said: ${[...new Set(warnings)].join(' ')}` : '';
    throw new Error(
      `tf.setBackend('${candidate.name}') resolved ${result} and tf.getBackend() is '${active}'.${cause}`,
    );
  }
  await tf.ready();
  return { name: active, requested, device: await candidate.describeDevice(), skipped };
}

/** Runs `action` while capturing console.warn, where tfjs reports why a backend failed to start. */
async function collectTfjsWarnings<T>(action: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...parts: unknown[]) => {
    warnings.push(parts.map(String).join(' ').split('\n')[0] ?? '');
  };
  try {
    return { result: await action(), warnings };
  } finally {
    console.warn = originalWarn;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
