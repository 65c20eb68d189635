import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { LENET_KERNELS_RELAXED_WASM_BASE64, LENET_KERNELS_WASM_BASE64 } from './lenet-kernels-wasm.generated';
import type { LenetWasmExports } from './wasm-exports.generated';

/** A convolution's sizes in the order the kernels take them. */
export type ConvolutionSizes = [
  batch: number,
  inH: number,
  inW: number,
  inC: number,
  outH: number,
  outW: number,
  outC: number,
];

/** The parts of the emscripten module behind the wasm backend that these kernels use. */
interface EmscriptenHeap {
  asm?: { memory?: WebAssembly.Memory };
  /** The heap as bytes; the threaded build has this but no `asm.memory`. */
  HEAPU8?: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/** Which build of our kernels runs: with relaxed SIMD's fused multiply-add, or plain SIMD. */
export type WasmSimdVariant = 'relaxed-simd' | 'simd';

let compiled: { module: WebAssembly.Module; variant: WasmSimdVariant } | null | undefined;
let allowRelaxed = true;
const instances = new WeakMap<WebAssembly.Memory, LenetWasmExports>();

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The module compiled from `base64`, or undefined where this engine rejects it. */
function compileOrUndefined(base64: string): WebAssembly.Module | undefined {
  try {
    return new WebAssembly.Module(decodeBase64(base64));
  } catch {
    return undefined;
  }
}

/**
 * The compiled kernels: the relaxed-SIMD build where the engine validates it (Chrome 114+, Node 22+,
 * or Node 20 with --experimental-wasm-relaxed-simd), else the plain-SIMD build, else undefined
 * where this JavaScript engine has no WebAssembly SIMD. Decided once, at the first use.
 */
function compiledKernels(): { module: WebAssembly.Module; variant: WasmSimdVariant } | undefined {
  if (compiled === undefined) {
    const relaxed = allowRelaxed ? compileOrUndefined(LENET_KERNELS_RELAXED_WASM_BASE64) : undefined;
    const plain = relaxed == null ? compileOrUndefined(LENET_KERNELS_WASM_BASE64) : undefined;
    compiled =
      relaxed != null
        ? { module: relaxed, variant: 'relaxed-simd' }
        : plain != null
          ? { module: plain, variant: 'simd' }
          : null;
  }
  return compiled ?? undefined;
}

function compiledModule(): WebAssembly.Module | undefined {
  return compiledKernels()?.module;
}

/**
 * Which build of our kernels runs here ({@link compiledKernels}), or undefined where neither
 * compiles. Compiles the module if nothing has yet.
 */
export function wasmSimdVariant(): WasmSimdVariant | undefined {
  return compiledKernels()?.variant;
}

/**
 * Keeps our kernels on plain SIMD even where relaxed SIMD is available, to compare the two (the
 * bench does). Call it before any wasm kernel runs; afterwards the choice is made and it throws.
 */
export function usePlainSimdOnly(): void {
  if (compiled !== undefined && compiled?.variant !== 'simd') {
    throw new Error(
      'usePlainSimdOnly() must run before the first wasm kernel: the relaxed-SIMD build is already in use',
    );
  }
  allowRelaxed = false;
}

const THREADED = 'the wasm backend runs threaded, on shared memory';

/** The wasm backend's heap, where it exports one. */
function backendMemory(backend: BackendWasm): WebAssembly.Memory | undefined {
  const memory = (backend.wasm as unknown as EmscriptenHeap).asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/**
 * Why our SIMD kernels cannot run on a wasm heap `memory`, or undefined where they can. They
 * import the heap as a plain memory: a shared one (the threaded wasm build, which browsers use
 * under cross-origin isolation) cannot be imported into a module that declares it unshared, and an
 * engine without WebAssembly SIMD cannot compile the module.
 */
export function whySimdCannotRun(memory: WebAssembly.Memory | undefined): string | undefined {
  if (memory == null) return 'the wasm backend does not export its memory';
  if (typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer) {
    return THREADED;
  }
  if (compiledModule() == null) return 'this JavaScript engine has no WebAssembly SIMD';
  return undefined;
}

/** {@link whySimdCannotRun} for a wasm backend. */
export function whySimdCannotRunOn(backend: BackendWasm): string | undefined {
  const memory = backendMemory(backend);
  if (memory != null) return whySimdCannotRun(memory);
  // The threaded build keeps its memory to itself; its heap view still shows that it is shared.
  const heap = (backend.wasm as unknown as EmscriptenHeap).HEAPU8?.buffer;
  const shared = typeof SharedArrayBuffer === 'function' && heap instanceof SharedArrayBuffer;
  return shared ? THREADED : whySimdCannotRun(undefined);
}

/**
 * Our SIMD kernels, instantiated on `backend`'s own memory (once per memory), or undefined where
 * they cannot run ({@link whySimdCannotRun}). Callers then use the stock kernel.
 */
export function simdKernelsFor(backend: BackendWasm): LenetWasmExports | undefined {
  const memory = backendMemory(backend);
  if (memory == null) return undefined;
  let kernels = instances.get(memory);
  if (kernels == null) {
    if (whySimdCannotRun(memory) != null) return undefined;
    const module = compiledModule()!;
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as LenetWasmExports;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** Byte offset of a tensor's values in the wasm backend's heap. */
export function heapOffset(backend: BackendWasm, info: TensorInfo): number {
  return (backend.dataIdMap.get(info.dataId) as { memoryOffset: number }).memoryOffset;
}

/**
 * Bytes per float32. The kernels' sizes, strides and scratch are all counted in floats; only
 * pointers (heap offsets) are in bytes, and this is the one place that converts.
 */
export const FLOAT_BYTES = 4;

/** The pointer `floats` floats past `pointer`. */
export function floatsAfter(pointer: number, floats: number): number {
  return pointer + floats * FLOAT_BYTES;
}

/** Runs `use` with scratch for `floats` floats from the backend's allocator, freed afterwards. */
export function withScratch<T>(backend: BackendWasm, floats: number, use: (pointer: number) => T): T {
  const heap = backend.wasm as unknown as EmscriptenHeap;
  const pointer = heap._malloc(floats * FLOAT_BYTES);
  try {
    return use(pointer);
  } finally {
    heap._free(pointer);
  }
}

/** Floats of scratch a 4 x 8 tile of sums takes in the kernels that ask for a `tile`. */
export const TILE_FLOATS = 32;

/** {@link ConvolutionSizes} of a tfjs convolution. */
export function convolutionSizes(info: backend_util.Conv2DInfo): ConvolutionSizes {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
  ];
}

/** What a wasm kernel function is called with. */
export interface WasmKernelCall<Inputs, Attrs = object> {
  inputs: Inputs;
  backend: BackendWasm;
  attrs: Attrs;
}

/**
 * The wasm backend's `stock` kernel with our SIMD path in front: `fast` gets each call and the SIMD
 * kernels and returns the output, or undefined to leave the call to `stock` (which also takes every
 * call where the SIMD kernels cannot run). `fast` decides before it allocates anything. The stock
 * config's setup and dispose stay, since the fallback needs them.
 */
export function withSimdPath<Inputs, Attrs = object>(
  stock: KernelConfig,
  fast: (call: WasmKernelCall<Inputs, Attrs>, kernels: LenetWasmExports) => TensorInfo | undefined,
): KernelConfig {
  const kernelFunc = (call: WasmKernelCall<Inputs, Attrs>): TensorInfo => {
    const kernels = simdKernelsFor(call.backend);
    const output = kernels ? fast(call, kernels) : undefined;
    return output ?? (stock.kernelFunc(call as unknown as Parameters<KernelFunc>[0]) as TensorInfo);
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/**
 * Our SIMD kernels on `backend`, for a fused kernel, which has no stock kernel to fall back to.
 * registerWasmKernels registers those only where the SIMD kernels run, so this throws only when the
 * backend changed after registration without registering again.
 */
export function requireSimdKernels(backend: BackendWasm, kernelName: string): LenetWasmExports {
  const kernels = simdKernelsFor(backend);
  if (kernels == null) {
    throw new Error(
      `${kernelName} (@lenet/kernels) cannot run here: ${whySimdCannotRunOn(backend)}. ` +
        'Call registerKernels() after every tf.setBackend; it takes such kernels out where they cannot run.',
    );
  }
  return kernels;
}
