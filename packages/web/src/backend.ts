/**
 * Picks the tfjs backend for a browser: WebGPU first, then WebGL, WebAssembly, plain JS. Each backend module is
 * loaded with a dynamic import(), so bundlers split it into its own chunk and a page only downloads what it uses.
 */
import { registerKernels } from '@lenet/kernels';
import {
  BackendUnavailableError,
  describeAdapter,
  type GpuAdapterInfo,
  type BackendChoice as SharedBackendChoice,
  type SkippedBackend as SharedSkippedBackend,
} from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';

/** The tfjs backends a browser can run, in the order {@link setupBackend} tries them. */
export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/**
 * The order to try for training: wasm, with our fused step, trains faster than WebGL's many small draws, so it
 * comes before WebGL here (inference, a single forward pass, keeps {@link BROWSER_BACKENDS}).
 */
export const TRAINING_BACKENDS = [
  'webgpu',
  'wasm',
  'webgl',
  'cpu',
] as const satisfies readonly BrowserBackend[];

/** One of {@link BROWSER_BACKENDS}. */
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

/** A backend that was tried and not used, and why. */
export type SkippedBackend = SharedSkippedBackend<BrowserBackend>;

/**
 * What {@link setupBackend} settled on: `@lenet/ops`' shape, shared with `@lenet/node`. `name` is what
 * `tf.getBackend()` now says; `adapter` is there for webgpu.
 */
export type BackendChoice = SharedBackendChoice<BrowserBackend>;

// One class for Node and browsers (defined in @lenet/ops), so `instanceof` works whichever package threw it.
export { BackendUnavailableError };

/** Options of {@link setupBackend}. */
export interface BackendOptions {
  /** `'auto'` (default) tries {@link BROWSER_BACKENDS} in order; a name forces that backend or throws. */
  backend?: BrowserBackend | 'auto';
  /**
   * Folder (URL ending in '/') that serves tfjs-backend-wasm's `.wasm` files. Browsers need it: bundlers do not
   * copy those files. Node finds them without it.
   */
  wasmPaths?: string;
  /** The order `'auto'` tries (default {@link BROWSER_BACKENDS}); e.g. {@link TRAINING_BACKENDS}. */
  order?: readonly BrowserBackend[];
  /**
   * In `'auto'` mode, pass over WebGPU when its adapter is a software one (SwiftShader, WARP): correct, but
   * slower than the CPU backends. A forced `'webgpu'` still runs on it.
   */
  skipSoftwareGpu?: boolean;
}

/** Checks a backend name from user input (a URL parameter, a select box); throws a RangeError naming the choices. */
export function parseBackendName(name: string): BrowserBackend | 'auto' {
  if (name === 'auto' || (BROWSER_BACKENDS as readonly string[]).includes(name)) {
    return name as BrowserBackend | 'auto';
  }
  throw new RangeError(`Unknown backend '${name}'. Use auto, ${BROWSER_BACKENDS.join(', ')}.`);
}

/**
 * Switches tfjs to the best backend that works here and says which one, and why the better ones were skipped.
 * `tf.setBackend` resolves false when a backend fails to start and tfjs then quietly keeps another one, so every
 * switch is checked with `tf.getBackend()` and a small computation.
 * @throws {@link BackendUnavailableError} when a forced backend fails, or (in auto mode) when none works.
 */
export async function setupBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const wanted = options.backend ?? 'auto';
  if (wanted !== 'auto') {
    const outcome = await tryBackend(wanted, { ...options, skipSoftwareGpu: false });
    if ('reason' in outcome) {
      throw new BackendUnavailableError(
        `The ${wanted} backend cannot run here: ${outcome.reason}. ` +
          `Pick another one (${BROWSER_BACKENDS.join(', ')}) or 'auto' to fall back automatically.`,
        { backend: wanted, reason: outcome.reason },
      );
    }
    return { name: wanted, requested: wanted, skipped: [], ...outcome };
  }
  const skipped: SkippedBackend[] = [];
  for (const name of options.order ?? BROWSER_BACKENDS) {
    const outcome = await tryBackend(name, { ...options, skipSoftwareGpu: options.skipSoftwareGpu ?? false });
    if (!('reason' in outcome)) return { name, requested: 'auto', skipped, ...outcome };
    skipped.push({ name, reason: outcome.reason });
  }
  const reason = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new BackendUnavailableError(`No tfjs backend can run here (${reason}).`, { backend: 'auto', reason });
}

/** What a backend that runs says about itself. */
type Started = { device: string; adapter?: GpuAdapterInfo };

/** Makes `backend` the active one. Returns why it cannot run, or what it runs on. */
async function tryBackend(
  backend: BrowserBackend,
  options: BackendOptions,
): Promise<Started | { reason: string }> {
  const loaded = await loadBackend(backend, options);
  if ('reason' in loaded) return loaded;
  if (options.skipSoftwareGpu && loaded.adapter?.isFallbackAdapter) {
    return {
      reason: `its adapter is a software one (${describeAdapter(loaded.adapter)}), slower than the CPU backends`,
    };
  }
  let started: boolean;
  try {
    started = await tf.setBackend(backend);
  } catch (error) {
    return { reason: `it failed to start (${(error as Error).message})` };
  }
  if (!started || tf.getBackend() !== backend) {
    return {
      reason: `it failed to start, tfjs stayed on ${tf.getBackend() ?? 'no backend'} (see the console for tfjs' warning)`,
    };
  }
  // Our kernels, only those this very backend can run (on wasm: the SIMD kernels and the fused LeNet-5 step).
  registerKernels();
  try {
    // A backend can start and still fail on the first kernel (e.g. a lost device): compute something small.
    const probe = tf.tidy(() => tf.sum(tf.mul(tf.tensor1d([1, 2, 3]), 2)));
    const [value] = await probe.data();
    probe.dispose();
    if (value !== 12) return { reason: `it computed 2*(1+2+3) = ${value}, not 12` };
  } catch (error) {
    return { reason: `it failed its first computation (${(error as Error).message})` };
  }
  return { device: await loaded.describeDevice(), ...(loaded.adapter ? { adapter: loaded.adapter } : {}) };
}

/** The parts of a browser's `GPUAdapter` read here; `isFallbackAdapter` moved into `info` in newer browsers. */
interface BrowserGpuAdapter {
  info?: Partial<GpuAdapterInfo>;
  isFallbackAdapter?: boolean;
}

interface NavigatorWithGpu {
  gpu?: { requestAdapter(options?: { powerPreference?: string }): Promise<BrowserGpuAdapter | null> };
}

/** A backend module that loaded, and how to describe its device once it is active. */
type Loaded = { describeDevice(): Promise<string>; adapter?: GpuAdapterInfo };

/** Imports a backend's module (which registers it with tfjs); returns why it cannot run, or what it runs on. */
async function loadBackend(
  backend: BrowserBackend,
  options: BackendOptions,
): Promise<Loaded | { reason: string }> {
  switch (backend) {
    case 'webgpu': {
      const gpu = (globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu;
      if (gpu == null)
        return { reason: 'navigator.gpu is missing (this browser has no WebGPU, or it is turned off)' };
      // The adapter tfjs's webgpu backend asks for by default.
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (adapter == null) {
        return {
          reason:
            'no WebGPU adapter (no usable GPU, or WebGPU is blocked; Chromium without a GPU needs --enable-unsafe-webgpu)',
        };
      }
      await import('@tensorflow/tfjs-backend-webgpu');
      const info = readAdapterInfo(adapter);
      return { describeDevice: async () => `GPU through WebGPU: ${describeAdapter(info)}`, adapter: info };
    }
    case 'webgl': {
      if (typeof document === 'undefined' && typeof OffscreenCanvas === 'undefined') {
        return { reason: 'no canvas to draw WebGL on (not a browser)' };
      }
      await import('@tensorflow/tfjs-backend-webgl');
      return { describeDevice: async () => 'GPU through WebGL' };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
      return {
        async describeDevice() {
          const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
          const threads = wasm.getThreadsCount();
          return `CPU, WebAssembly${simd ? ' SIMD' : ' (no SIMD)'}, ${threads} thread${threads === 1 ? '' : 's'}`;
        },
      };
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return { describeDevice: async () => 'CPU, plain JavaScript, 1 thread' };
  }
}

/** GPUAdapterInfo's fields are getters on its prototype (and missing in older browsers): copy them. */
function readAdapterInfo(adapter: BrowserGpuAdapter): GpuAdapterInfo {
  const info = adapter.info ?? {};
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
}
