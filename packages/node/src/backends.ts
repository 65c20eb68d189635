import { createRequire } from 'node:module';
import { registerKernels } from '@lenet/kernels';
import { BackendUnavailableError, type BackendChoice as SharedBackendChoice } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';
import {
  diagnoseNativeFailure,
  loadNativeTensorflow,
  type NativePackage,
  nativePackageVersion,
  probeNativeTensorflow,
} from './native-tensorflow';
import {
  describeAdapter,
  NO_ADAPTER_HINT,
  probeGpuAdapter,
  releaseWebGpu,
  setUpWebGpu,
  type WebGpuOptions,
  webGpuAdapter,
} from './webgpu-dawn';

/**
 * The tfjs backends `@lenet/node` can set up, in the order `'auto'` tries them: CUDA (tfjs-node-gpu),
 * WebGPU through Dawn, native CPU (tfjs-node), WebAssembly, plain JavaScript.
 */
export type NodeBackendName = 'cuda' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Options of {@link useBackend}. */
export interface BackendOptions extends WebGpuOptions {}

/** What `useBackend` set up, for logs and run records: `@lenet/ops`' shape, shared with `@lenet/web`. */
export type BackendChoice = SharedBackendChoice<NodeBackendName>;

// One class for Node and browsers (defined in @lenet/ops), so `instanceof` works whichever package threw it.
export { BackendUnavailableError };

interface BackendCandidate {
  name: NodeBackendName;
  /** The name tfjs registers the backend under. */
  tfjsName: string;
  /**
   * Imports the backend's package (which registers it with tfjs) and registers our kernels for it.
   * `auto` is true when `'auto'` tries it: a backend slower than the ones after it refuses then.
   */
  load(options: BackendOptions, auto: boolean): Promise<void>;
  /** Checks, once the backend is active, that it runs where it should (e.g. on the GPU); throws if not. */
  verify?(): Promise<void>;
  /** Describes the device; called after the backend is active. */
  describeDevice(): Promise<string>;
  /** The npm package that provides it and its installed version, for `lenet doctor`. */
  provider(): { package: string; version: string | undefined };
  /** What a user can do when this backend fails (empty when the error already says it). */
  remedy: string;
}

const requireHere = createRequire(import.meta.url);

function installedVersion(pkg: string): string | undefined {
  try {
    return (requireHere(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** tfjs-node or tfjs-node-gpu: both register a tfjs backend named 'tensorflow'. */
function nativeCandidate(name: 'cuda' | 'tensorflow', pkg: NativePackage): BackendCandidate {
  return {
    name,
    tfjsName: 'tensorflow',
    async load() {
      await loadNativeTensorflow(pkg);
    },
    async verify() {
      const usingGpu = Boolean((tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice);
      if (name === 'tensorflow' || usingGpu) return;
      // tfjs-node-gpu quietly runs on the CPU when CUDA fails; its reasons went to stderr, so ask a child process.
      const probe = await probeNativeTensorflow(pkg);
      const diagnosis = diagnoseNativeFailure(pkg, probe.log);
      throw new Error(
        diagnosis.kind === 'other'
          ? `${pkg} loaded but TensorFlow registered no GPU device. Check \`nvidia-smi\` and that CUDA 11.2 ` +
              'and cuDNN 8.1 are on LD_LIBRARY_PATH.'
          : diagnosis.message,
      );
    },
    async describeDevice() {
      return name === 'cuda'
        ? `NVIDIA GPU through CUDA (libtensorflow 2.9.1, ${pkg})`
        : `CPU, libtensorflow 2.9.1 (${pkg})`;
    },
    provider: () => ({ package: pkg, version: nativePackageVersion(pkg) }),
    remedy: '',
  };
}

// Adding a backend is one entry here, in the order 'auto' tries them.
const candidates: readonly BackendCandidate[] = [
  nativeCandidate('cuda', '@tensorflow/tfjs-node-gpu'),
  {
    name: 'webgpu',
    tfjsName: 'webgpu',
    async load(options, auto) {
      // 'auto' looks first from a child process, so that a machine without a GPU sees no Dawn warnings.
      const adapter = auto ? await probeGpuAdapter(options) : await setUpWebGpu(options);
      if (adapter == null) throw new Error(NO_ADAPTER_HINT);
      if (auto && adapter.isFallbackAdapter) {
        throw new Error(
          `the only adapter is a software one (${describeAdapter(adapter)}), slower than the CPU backends; ` +
            'ask for --backend webgpu to use it anyway',
        );
      }
      if (auto) await setUpWebGpu(options);
    },
    async describeDevice() {
      const adapter = webGpuAdapter();
      return `GPU through WebGPU (Dawn): ${adapter ? describeAdapter(adapter) : 'unknown adapter'}`;
    },
    provider: () => ({ package: '@tensorflow/tfjs-backend-webgpu + webgpu', version: webgpuVersions() }),
    remedy: '',
  },
  nativeCandidate('tensorflow', '@tensorflow/tfjs-node'),
  {
    name: 'wasm',
    tfjsName: 'wasm',
    async load() {
      await import('@tensorflow/tfjs-backend-wasm');
    },
    async describeDevice() {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = wasm.getThreadsCount();
      return `CPU, WebAssembly${simd ? ' SIMD' : ' (no SIMD)'}, ${threads} thread${threads === 1 ? '' : 's'}`;
    },
    provider: () => ({
      package: '@tensorflow/tfjs-backend-wasm',
      version: installedVersion('@tensorflow/tfjs-backend-wasm'),
    }),
    remedy:
      'Check that @tensorflow/tfjs-backend-wasm@4.22.0 is installed with its dist/*.wasm files ' +
      '(reinstall with `pnpm install`).',
  },
  {
    name: 'cpu',
    tfjsName: 'cpu',
    async load() {
      await import('@tensorflow/tfjs-backend-cpu');
    },
    async describeDevice() {
      return 'CPU, plain JavaScript, 1 thread';
    },
    provider: () => ({
      package: '@tensorflow/tfjs-backend-cpu',
      version: installedVersion('@tensorflow/tfjs-backend-cpu'),
    }),
    remedy: 'Check that @tensorflow/tfjs-backend-cpu@4.22.0 is installed (reinstall with `pnpm install`).',
  },
];

function webgpuVersions(): string | undefined {
  const backend = installedVersion('@tensorflow/tfjs-backend-webgpu');
  const dawn = installedVersion('webgpu');
  return backend && dawn ? `${backend} + ${dawn}` : undefined;
}

/** The backend names `useBackend` accepts besides `'auto'`, in the order `'auto'` tries them (for help texts). */
export function listBackends(): readonly NodeBackendName[] {
  return candidates.map((candidate) => candidate.name);
}

/** The npm package behind a backend and its installed version (undefined when not installed). */
export function backendProvider(name: NodeBackendName): { package: string; version: string | undefined } {
  const candidate = candidates.find((c) => c.name === name);
  if (candidate == null) throw new BackendUnavailableError(`Unknown backend '${name}'.`);
  return candidate.provider();
}

/**
 * Sets up a tfjs backend in this process and makes it the active one.
 *
 * `'auto'` tries the backends in {@link listBackends} order and keeps the first that works, recording
 * why each one before it failed in `skipped` (webgpu on a software adapter counts as failed there).
 * A named backend that fails throws `BackendUnavailableError`; there is never a silent fallback.
 * Backends are process-global: this changes `tf.getBackend()` for the whole process. Call
 * {@link releaseBackend} when done, so a GPU does not keep the process alive.
 *
 * @throws BackendUnavailableError when `requested` is unknown, the named backend fails, or every
 * backend fails under `'auto'`.
 */
export async function useBackend(
  requested: 'auto' | NodeBackendName,
  options: BackendOptions = {},
): Promise<BackendChoice> {
  const known = listBackends().join(', ');
  if (requested === 'auto') {
    const skipped: BackendChoice['skipped'] = [];
    for (const candidate of candidates) {
      try {
        return await activate(candidate, requested, options, skipped);
      } catch (error) {
        skipped.push({ name: candidate.name, reason: firstSentenceOf(messageOf(error)) });
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
    return await activate(candidate, requested, options, []);
  } catch (error) {
    const remedy = candidate.remedy ? `\n${candidate.remedy}` : '';
    throw new BackendUnavailableError(
      `The ${candidate.name} backend could not be set up: ${messageOf(error)}${remedy} ` +
        `Or pick another backend (auto, ${known}).`,
      { cause: error },
    );
  }
}

/**
 * Frees what a GPU backend holds (the WebGPU device and Dawn's `navigator.gpu`) so the process can exit.
 * The active backend is gone afterwards; call {@link useBackend} again to compute more.
 */
export function releaseBackend(): void {
  releaseWebGpu();
}

async function activate(
  candidate: BackendCandidate,
  requested: BackendChoice['requested'],
  options: BackendOptions,
  skipped: BackendChoice['skipped'],
): Promise<BackendChoice> {
  await candidate.load(options, requested === 'auto');
  const previous = tf.getBackend() as string | null;
  const restore = async () => {
    if (previous != null && previous !== candidate.tfjsName) await tf.setBackend(previous);
  };
  // tf.setBackend resolves false on failure and only logs the cause; it then leaves tf.getBackend()
  // naming the failed backend although none is active. So capture the log, check both, and put the
  // previous backend back.
  const { result, warnings } = await collectTfjsWarnings(() => tf.setBackend(candidate.tfjsName));
  const active = tf.getBackend();
  if (!result || active !== candidate.tfjsName) {
    await restore();
    const cause = warnings.length > 0 ? ` tfjs said: ${[...new Set(warnings)].join(' ')}` : '';
    throw new Error(
      `tf.setBackend('${candidate.tfjsName}') resolved ${result} and tf.getBackend() is '${active}'.${cause}`,
    );
  }
  await tf.ready();
  try {
    await candidate.verify?.();
  } catch (error) {
    await restore();
    throw error;
  }
  // Now that the backend is ready: registerKernels registers only what this very backend can run.
  registerKernels();
  const adapter = candidate.name === 'webgpu' ? webGpuAdapter() : undefined;
  return {
    name: candidate.name,
    requested,
    device: await candidate.describeDevice(),
    skipped,
    ...(adapter ? { adapter } : {}),
  };
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

/** The first sentence of a long diagnosis: 'auto' prints each skipped backend on one line. */
function firstSentenceOf(message: string): string {
  const end = message.search(/\.\s/);
  return end === -1 ? message : message.slice(0, end);
}
