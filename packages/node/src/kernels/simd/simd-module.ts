import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { LENET_KERNELS_WASM_BASE64 } from './lenet-kernels-wasm.generated';

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

/** An average pool whose windows tile the input (stride = window), or its gradient, NHWC. */
type TiledPoolKernel = (
  from: number,
  to: number,
  batch: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  channels: number,
  windowH: number,
  windowW: number,
) => void;

/** The functions of assembly/lenet-kernels.ts; every pointer is a byte offset in the backend's heap. */
export interface LenetSimdKernels {
  tanh(x: number, y: number, n: number): void;
  /** The gradient of a tiled average pool: `from` is dy, `to` is dx. */
  avgPoolGradTiled: TiledPoolKernel;
  padRows(from: number, to: number, rows: number, channels: number, paddedChannels: number): void;
  filterRowsByOutput(
    w: number,
    wt: number,
    kh: number,
    kw: number,
    inC: number,
    outC: number,
    paddedRun: number,
  ): void;
  conv2dInputGradient(
    dy: number,
    wt: number,
    dx: number,
    ...sizes: [...ConvolutionSizes, kh: number, paddedRun: number]
  ): void;
  conv2dForwardOneChannel(
    x: number,
    w: number,
    y: number,
    ...sizes: [...ConvolutionSizes, kh: number, kw: number]
  ): void;
  addRepeating(x: number, pattern: number, out: number, n: number, period: number, thenTanh: boolean): void;
  tanhGradient(y: number, dy: number, dx: number, n: number): void;
  accumulate(from: number, to: number, n: number): void;
  avgPoolTanhGradientPadded(
    dy: number,
    y: number,
    dx: number,
    batch: number,
    outH: number,
    outW: number,
    channels: number,
    window: number,
  ): void;
  adamUpdate(
    value: number,
    m: number,
    v: number,
    g: number,
    newValue: number,
    newM: number,
    newV: number,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    correction1: number,
    correction2: number,
    epsilon: number,
    negLearningRate: number,
  ): void;
  patches(
    x: number,
    out: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    kh: number,
    kw: number,
  ): void;
  sumRows(x: number, out: number, rows: number, channels: number): void;
  avgPoolTiled: TiledPoolKernel;
  transposePadded(from: number, to: number, rows: number, cols: number, paddedRows: number): void;
  matmul(
    a: number,
    aRowStride: number,
    aColStride: number,
    b: number,
    c: number,
    rows: number,
    depth: number,
    paddedCols: number,
    tile: number,
  ): void;
  unpadRows(from: number, to: number, rows: number, paddedChannels: number, channels: number): void;
  conv2dFilterGradient(
    x: number,
    dyPadded: number,
    dw: number,
    sums: number,
    ...sizes: [...ConvolutionSizes, paddedChannels: number, kw: number, rowsOfW: number]
  ): void;
}

/** The parts of the emscripten module behind the wasm backend that these kernels use. */
interface EmscriptenHeap {
  asm?: { memory?: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, LenetSimdKernels>();

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The compiled module, or undefined where this JavaScript engine has no WebAssembly SIMD. */
function compiledModule(): WebAssembly.Module | undefined {
  try {
    compiled ??= new WebAssembly.Module(decodeBase64(LENET_KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
    return compiled;
  } catch {
    return undefined;
  }
}

/** Whether this JavaScript engine runs our SIMD kernels at all (a backend may still not expose its memory). */
export function simdSupported(): boolean {
  return compiledModule() != null;
}

/**
 * Our SIMD kernels, instantiated on `backend`'s own memory (once per memory), or undefined where
 * they cannot run: a wasm backend whose memory is not exported (the threaded build shares a memory
 * of its own) or a JavaScript engine without WebAssembly SIMD. Callers then use the stock kernel.
 */
export function simdKernelsFor(backend: BackendWasm): LenetSimdKernels | undefined {
  const memory = (backend.wasm as unknown as EmscriptenHeap).asm?.memory;
  const shared = typeof SharedArrayBuffer === 'function' && memory?.buffer instanceof SharedArrayBuffer;
  if (!(memory instanceof WebAssembly.Memory) || shared) return undefined;
  let kernels = instances.get(memory);
  if (kernels == null) {
    const module = compiledModule();
    if (module == null) return undefined;
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as LenetSimdKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** Byte offset of a tensor's values in the wasm backend's heap. */
export function heapOffset(backend: BackendWasm, info: TensorInfo): number {
  return (backend.dataIdMap.get(info.dataId) as { memoryOffset: number }).memoryOffset;
}

/** Runs `use` with `bytes` of scratch from the backend's allocator, freed afterwards. */
export function withScratch<T>(backend: BackendWasm, bytes: number, use: (pointer: number) => T): T {
  const heap = backend.wasm as unknown as EmscriptenHeap;
  const pointer = heap._malloc(bytes);
  try {
    return use(pointer);
  } finally {
    heap._free(pointer);
  }
}

/** Bytes of scratch a 4 x 8 tile of sums takes in the kernels that ask for a `tile`. */
export const TILE_BYTES = 32 * 4;

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
  fast: (call: WasmKernelCall<Inputs, Attrs>, kernels: LenetSimdKernels) => TensorInfo | undefined,
): KernelConfig {
  const kernelFunc = (call: WasmKernelCall<Inputs, Attrs>): TensorInfo => {
    const kernels = simdKernelsFor(call.backend);
    const output = kernels ? fast(call, kernels) : undefined;
    return output ?? (stock.kernelFunc(call as unknown as Parameters<KernelFunc>[0]) as TensorInfo);
  };
  return { ...stock, kernelFunc: kernelFunc as unknown as KernelFunc };
}
