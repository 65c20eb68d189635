/**
 * Picks the tfjs backend for a browser: WebGPU first, then WebGL, WebAssembly, plain JS. Each backend module is
 * loaded with a dynamic import(), so bundlers split it into its own chunk and a page only downloads what it uses.
 */
import { registerKernels } from '@lenet/kernels';
import * as tf from '@tensorflow/tfjs-core';

/** The tfjs backends a browser can run, in the order {@link setupBackend} tries them. */
export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** One of {@link BROWSER_BACKENDS}. */
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

/** A backend that was tried and not used, and why. */
export interface SkippedBackend {
  backend: BrowserBackend;
  reason: string;
}

/** What {@link setupBackend} settled on. */
export interface BackendChoice {
  /** The backend tfjs now runs on (checked with `tf.getBackend()`). */
  backend: BrowserBackend;
  /** Every backend tried before it, with the reason it was skipped. Empty when the first choice worked. */
  skipped: SkippedBackend[];
  /** True when the caller asked for this backend by name. */
  forced: boolean;
}

/** Options of {@link setupBackend}. */
export interface BackendOptions {
  /** `'auto'` (default) tries {@link BROWSER_BACKENDS} in order; a name forces that backend or throws. */
  backend?: BrowserBackend | 'auto';
  /**
   * Folder (URL ending in '/') that serves tfjs-backend-wasm's `.wasm` files. Browsers need it: bundlers do not
   * copy those files. Node finds them without it.
   */
  wasmPaths?: string;
}

/** Thrown when a backend the caller forced cannot run here. */
export class BackendUnavailableError extends Error {
  readonly backend: BrowserBackend;
  readonly reason: string;

  constructor(backend: BrowserBackend, reason: string) {
    super(
      `The ${backend} backend cannot run here: ${reason}. ` +
        `Pick another one (${BROWSER_BACKENDS.join(', ')}) or 'auto' to fall back automatically.`,
    );
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.reason = reason;
  }
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
    const reason = await tryBackend(wanted, options);
    if (reason !== undefined) throw new BackendUnavailableError(wanted, reason);
    return { backend: wanted, skipped: [], forced: true };
  }
  const skipped: SkippedBackend[] = [];
  for (const backend of BROWSER_BACKENDS) {
    const reason = await tryBackend(backend, options);
    if (reason === undefined) return { backend, skipped, forced: false };
    skipped.push({ backend, reason });
  }
  throw new BackendUnavailableError(
    'cpu',
    `no backend works here (${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})`,
  );
}

/** Makes `backend` the active one. Returns why it cannot run, or undefined when it runs. */
async function tryBackend(backend: BrowserBackend, options: BackendOptions): Promise<string | undefined> {
  const missing = await loadBackend(backend, options);
  if (missing !== undefined) return missing;
  let started: boolean;
  try {
    started = await tf.setBackend(backend);
  } catch (error) {
    return `it failed to start (${(error as Error).message})`;
  }
  if (!started || tf.getBackend() !== backend) {
    return `it failed to start, tfjs stayed on ${tf.getBackend() ?? 'no backend'} (see the console for tfjs' warning)`;
  }
  // Our kernels, only those this very backend can run (on wasm: the SIMD kernels and the fused LeNet-5 step).
  registerKernels();
  try {
    // A backend can start and still fail on the first kernel (e.g. a lost device): compute something small.
    const probe = tf.tidy(() => tf.sum(tf.mul(tf.tensor1d([1, 2, 3]), 2)));
    const [value] = await probe.data();
    probe.dispose();
    if (value !== 12) return `it computed 2*(1+2+3) = ${value}, not 12`;
  } catch (error) {
    return `it failed its first computation (${(error as Error).message})`;
  }
  return undefined;
}

interface NavigatorWithGpu {
  gpu?: { requestAdapter(): Promise<object | null> };
}

/** Imports a backend's module (which registers it with tfjs); returns why it cannot run, or undefined. */
async function loadBackend(backend: BrowserBackend, options: BackendOptions): Promise<string | undefined> {
  switch (backend) {
    case 'webgpu': {
      const gpu = (globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu;
      if (gpu == null) return 'navigator.gpu is missing (this browser has no WebGPU, or it is turned off)';
      if ((await gpu.requestAdapter()) == null) {
        return 'no WebGPU adapter (no usable GPU, or WebGPU is blocked; Chromium without a GPU needs --enable-unsafe-webgpu)';
      }
      await import('@tensorflow/tfjs-backend-webgpu');
      return undefined;
    }
    case 'webgl': {
      if (typeof document === 'undefined' && typeof OffscreenCanvas === 'undefined') {
        return 'no canvas to draw WebGL on (not a browser)';
      }
      await import('@tensorflow/tfjs-backend-webgl');
      return undefined;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
      return undefined;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return undefined;
  }
}
