import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The two npm packages that run tfjs on libtensorflow 2.9.1: native CPU, and CUDA. */
export type NativePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

/** Why a native tfjs package cannot run, from the error text it produced. */
export type NativeFailureKind =
  | 'not-installed'
  | 'addon-not-built'
  | 'cuda-library-missing'
  | 'cuda-driver'
  | 'other';

/** A failure of tfjs-node(-gpu), classified, with a message that says what to do. */
export interface NativeDiagnosis {
  kind: NativeFailureKind;
  /** What is wrong and what to do, in one paragraph. */
  message: string;
  /** For `cuda-library-missing`: the libraries TensorFlow could not open, e.g. `['libcudart.so.11.0']`. */
  libraries: string[];
}

const TFJS_VERSION = '4.22.0';

const BUILD_ALLOWANCE =
  'pnpm 10 runs its install script (which downloads libtensorflow 2.9.1) only when allowed: add it under ' +
  '`onlyBuiltDependencies` in pnpm-workspace.yaml or run `pnpm approve-builds`. Offline, point ' +
  'TFJS_NODE_BASE_URI / TFJS_NODE_CDN_STORAGE at a mirror first (see the README, GPU section)';

// What each library TensorFlow 2.9.1 dlopens comes from. It was built against CUDA 11.2 and cuDNN 8.1:
// other major versions install differently named files (libcudart.so.12, libcudnn.so.9) that it cannot use.
const CUDA_LIBRARY_SOURCES: [RegExp, string][] = [
  [/^libcuda\.so/, 'the NVIDIA driver (450.80.02 or newer; check with `nvidia-smi`)'],
  [/^libcudart\.so/, 'the CUDA 11.2 runtime (e.g. apt package cuda-cudart-11-2)'],
  [/^libcublas(Lt)?\.so/, 'CUDA 11.2 cuBLAS (libcublas-11-2)'],
  [/^libcufft\.so/, 'CUDA 11.2 cuFFT (libcufft-11-2)'],
  [/^libcurand\.so/, 'CUDA 11.2 cuRAND (libcurand-11-2)'],
  [/^libcusolver\.so/, 'CUDA 11.2 cuSOLVER (libcusolver-11-2)'],
  [/^libcusparse\.so/, 'CUDA 11.2 cuSPARSE (libcusparse-11-2)'],
  [/^libcudnn/, 'cuDNN 8.1 for CUDA 11.2 (e.g. libcudnn8=8.1.1.*-1+cuda11.2)'],
];

/**
 * Classifies what tfjs-node or tfjs-node-gpu printed or threw when it failed: the package is missing,
 * its native addon was never built, CUDA or cuDNN libraries are missing or the wrong version, or the
 * driver sees no GPU. `text` is the error message plus, when there is one, TensorFlow's stderr log.
 */
export function diagnoseNativeFailure(pkg: NativePackage, text: string): NativeDiagnosis {
  const escaped = pkg.replace(/[/.-]/g, '\\$&');
  if (new RegExp(`Cannot find (package|module) '${escaped}'`).test(text)) {
    return {
      kind: 'not-installed',
      libraries: [],
      message:
        `${pkg} is not installed. Install it with \`pnpm add -w ${pkg}@${TFJS_VERSION}\` ` +
        `(npm: \`npm install ${pkg}@${TFJS_VERSION}\`). ${BUILD_ALLOWANCE}.`,
    };
  }
  if (
    /tfjs_binding\.node\) can not be found|libtensorflow(_framework)?\.so\.2: cannot open shared object/.test(
      text,
    )
  ) {
    const what = /tfjs_binding/.test(text) ? 'its native addon (tfjs_binding.node)' : 'libtensorflow.so.2';
    return {
      kind: 'addon-not-built',
      libraries: [],
      message:
        `${pkg} is installed but ${what} is missing: its install script did not run. ${BUILD_ALLOWANCE}; ` +
        `then run \`pnpm rebuild ${pkg}\` (npm: \`npm rebuild ${pkg}\`).`,
    };
  }
  const libraries = missingLibraries(text).filter((lib) => !/^libnvinfer/.test(lib)); // TensorRT is optional
  if (libraries.length > 0) {
    const sources = libraries.map((lib) => `${lib}: install ${sourceOf(lib)}`);
    return {
      kind: 'cuda-library-missing',
      libraries,
      message:
        `${pkg} loaded, but TensorFlow could not open ${libraries.join(', ')}, so it would run on the CPU. ` +
        `${sources.join('; ')}. libtensorflow 2.9.1 needs exactly CUDA 11.2 and cuDNN 8.1 (CUDA 12 or cuDNN 9 ` +
        'install other file names it cannot use); put their lib64 folder on LD_LIBRARY_PATH or run `ldconfig`.',
    };
  }
  if (/CUDA_ERROR_NO_DEVICE|no CUDA-capable device|kernel driver does not appear to be running/.test(text)) {
    return {
      kind: 'cuda-driver',
      libraries: [],
      message:
        `${pkg} loaded, but the CUDA driver sees no GPU. Check \`nvidia-smi\`, that the nvidia kernel module ` +
        'is loaded, and CUDA_VISIBLE_DEVICES.',
    };
  }
  if (/CUDA driver version is insufficient|CUDA_ERROR_SYSTEM_DRIVER_MISMATCH/.test(text)) {
    return {
      kind: 'cuda-driver',
      libraries: [],
      message: `${pkg} loaded, but the NVIDIA driver is too old for CUDA 11.2: install driver 450.80.02 or newer.`,
    };
  }
  const firstLine = text.split('\n').find((line) => line.trim() !== '') ?? 'no error text';
  return { kind: 'other', libraries: [], message: `${pkg} failed: ${firstLine.trim()}` };
}

/** Library names in dlopen errors: TensorFlow's "Could not load dynamic library 'x'" and Node's "x: cannot open ...". */
function missingLibraries(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/Could not load dynamic library '([^']+)'/g)) found.add(m[1]!);
  for (const m of text.matchAll(/(lib[\w+-]+\.so[\d.]*): cannot open shared object file/g)) found.add(m[1]!);
  return [...found];
}

function sourceOf(library: string): string {
  return CUDA_LIBRARY_SOURCES.find(([pattern]) => pattern.test(library))?.[1] ?? 'the CUDA 11.2 toolkit';
}

/**
 * Where `pkg` is installed: next to @lenet/node, or else in the project the process runs in
 * (so `pnpm add -w` at a workspace root works). Throws Node's "Cannot find module" error if neither has it.
 */
export function resolveNativePackage(pkg: NativePackage): string {
  const bases = [import.meta.url, pathToFileURL(join(process.cwd(), 'package.json')).href];
  let lastError: unknown;
  for (const base of bases) {
    try {
      return createRequire(base).resolve(pkg);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** The installed version of `pkg`, or undefined when it is not installed. */
export function nativePackageVersion(pkg: NativePackage): string | undefined {
  try {
    const entry = resolveNativePackage(pkg);
    const require = createRequire(entry);
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Loads `pkg` into this process; it registers the 'tensorflow' tfjs backend. Throws with a {@link NativeDiagnosis}. */
export async function loadNativeTensorflow(pkg: NativePackage): Promise<void> {
  try {
    await import(pathToFileURL(resolveNativePackage(pkg)).href);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(diagnoseNativeFailure(pkg, message).message, { cause: error });
  }
}

/**
 * Loads tfjs-node-gpu in a child process and returns what TensorFlow logged to stderr there: the native
 * library writes its dlopen failures straight to file descriptor 2, where this process cannot catch them.
 */
export function probeNativeTensorflow(pkg: NativePackage): Promise<{ usingGpu: boolean; log: string }> {
  const entry = pathToFileURL(resolveNativePackage(pkg)).href;
  const script =
    `const tf = await import(${JSON.stringify(entry)});` +
    "await tf.setBackend('tensorflow'); tf.add(tf.scalar(1), 1).dataSync();" +
    'console.log(JSON.stringify({ usingGpu: Boolean(tf.backend().isUsingGpuDevice) }));';
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 120_000, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0' } },
      (error, stdout, stderr) => {
        const result = /\{"usingGpu":(true|false)\}/.exec(stdout);
        resolve({
          usingGpu: result?.[1] === 'true',
          log: `${error ? `${error.message}\n` : ''}${stderr}`,
        });
      },
    );
  });
}
