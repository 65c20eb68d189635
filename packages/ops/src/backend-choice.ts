/**
 * What `@lenet/node`'s `useBackend` and `@lenet/web`'s `setupBackend` report, and what they throw: one shape and
 * one error class for both, so code that runs in Node and in browsers handles a backend the same way. Each
 * package narrows `Name` to the backends it knows. Plain data and an Error subclass only: no Node or DOM APIs.
 */

/** What a WebGPU adapter says about itself (the fields of `GPUAdapterInfo`), copied into a plain object. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software adapter such as SwiftShader: correct, but slower than the CPU backends. */
  isFallbackAdapter: boolean;
}

/** A backend that `'auto'` tried before the one it chose, and why it was not used. */
export interface SkippedBackend<Name extends string = string> {
  name: Name;
  reason: string;
}

/** The backend that was set up and made the active one, for logs, run records and pages. */
export interface BackendChoice<Name extends string = string> {
  /** The backend that runs. In Node it can differ from `tf.getBackend()` (`'cuda'` runs as `'tensorflow'`). */
  name: Name;
  /** What the caller asked for: `'auto'` or a backend name. */
  requested: 'auto' | Name;
  /** The device in words, e.g. `'CPU, WebAssembly SIMD, 1 thread'`. */
  device: string;
  /** The backends `'auto'` tried first, in order, and why each failed; empty for a named backend. */
  skipped: SkippedBackend<Name>[];
  /** The GPU adapter, when the backend is webgpu. */
  adapter?: GpuAdapterInfo;
}

/** Options of {@link BackendUnavailableError}, besides the standard `cause`. */
export interface BackendUnavailableErrorOptions extends ErrorOptions {
  /** The backend that could not be set up, or `'auto'` when none could. */
  backend?: string;
  /** Why, without the advice the message adds; the message itself when not given. */
  reason?: string;
}

/**
 * A backend that was asked for by name, or every backend `'auto'` tried, could not be set up. Thrown instead of
 * quietly running on another backend. The message says what failed and what to do.
 */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
  /** The backend that could not be set up (`'auto'`: none could), when the thrower named it. */
  readonly backend: string | undefined;
  /** Why it could not, in words. */
  readonly reason: string;

  constructor(message: string, options: BackendUnavailableErrorOptions = {}) {
    const { backend, reason, ...errorOptions } = options;
    super(message, errorOptions);
    this.backend = backend;
    this.reason = reason ?? message;
  }
}

/** One line for logs: `'google swiftshader (SwiftShader driver 5.0.0), software fallback adapter'`. */
export function describeAdapter(info: GpuAdapterInfo): string {
  const name = [info.vendor, info.architecture].filter(Boolean).join(' ') || info.device || 'unknown adapter';
  const description = info.description ? ` (${info.description})` : '';
  return `${name}${description}${info.isFallbackAdapter ? ', software fallback adapter' : ''}`;
}
