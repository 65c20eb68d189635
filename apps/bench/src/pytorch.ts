import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's interpreter: python3-torch installs there, and the `python3` on PATH may be another one. */
export const PYTHON = process.env.LENET_BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../pytorch/lenet5_bench.py', import.meta.url));

/** How to get PyTorch and the allocators it is measured with (Debian/Ubuntu). */
export const INSTALL_HINT = 'bash scripts/install-bench-deps.sh';

/** A malloc that PyTorch runs with, through LD_PRELOAD. */
export interface Allocator {
  name: 'tcmalloc' | 'jemalloc';
  path: string;
}

/**
 * Where Debian and Ubuntu install the allocators, best first. glibc's malloc hands large freed buffers back to
 * the kernel, so PyTorch on CPU pays page faults for its activations every step; PyTorch's CPU performance guide
 * recommends preloading tcmalloc or jemalloc, and tcmalloc keeps its throughput steadier here.
 */
const ALLOCATORS: Allocator[] = ['x86_64-linux-gnu', 'aarch64-linux-gnu'].flatMap((triplet) => [
  { name: 'tcmalloc', path: `/usr/lib/${triplet}/libtcmalloc_minimal.so.4` },
  { name: 'tcmalloc', path: `/usr/lib/${triplet}/libtcmalloc.so.4` },
  { name: 'jemalloc', path: `/usr/lib/${triplet}/libjemalloc.so.2` },
]);

/** The best installed allocator for PyTorch: tcmalloc, else jemalloc, else none (glibc's malloc). */
export function findAllocator(): Allocator | undefined {
  const installed = ALLOCATORS.filter((allocator) => existsSync(allocator.path));
  return installed.find((a) => a.name === 'tcmalloc') ?? installed[0];
}

/**
 * The environment PyTorch runs in: ours, with the allocator preloaded. OpenMP stays at its defaults (no
 * OMP_WAIT_POLICY): making its threads sleep instead of spin slows PyTorch's multi-threaded runs.
 */
export function pytorchEnvironment(allocator: Allocator | undefined): NodeJS.ProcessEnv {
  if (!allocator) return process.env;
  const preload = [allocator.path, process.env.LD_PRELOAD].filter(Boolean).join(':');
  return { ...process.env, LD_PRELOAD: preload };
}

export interface PytorchSetup {
  version: string;
  /** The allocator asked for, and whether the Python process really had it mapped. */
  allocator?: Allocator & { loaded: boolean };
}

export interface PytorchResult {
  threads: number;
  torch: string;
  /** The torch device ('cpu', 'cuda') and how the model ran there (eager, compile, cudagraphs). */
  device?: string;
  mode?: PytorchMode;
  trainImagesPerSecond: Record<string, number>;
  inferImagesPerSecond: number;
}

// Prints the torch version, then whether the preloaded library (argv[1]) is mapped into the process.
const PROBE = [
  'import sys, torch',
  'print(torch.__version__)',
  'print(len(sys.argv) > 1 and sys.argv[1] in open("/proc/self/maps").read())',
].join('; ');

/** The installed PyTorch version and the allocator it runs with, or why there is no PyTorch. */
export async function pytorchSetup(): Promise<{ setup?: PytorchSetup; missing?: string }> {
  const allocator = findAllocator();
  try {
    const { stdout } = await run(PYTHON, ['-c', PROBE, ...(allocator ? [allocator.path] : [])], {
      env: pytorchEnvironment(allocator),
    });
    const [version, loaded] = stdout.trim().split('\n');
    return {
      setup: { version: version!, allocator: allocator && { ...allocator, loaded: loaded === 'True' } },
    };
  } catch {
    return { missing: `PyTorch is not importable from ${PYTHON} (${INSTALL_HINT})` };
  }
}

/** How lenet5_bench.py runs the model: plain PyTorch, through torch.compile, or as captured CUDA graphs. */
export type PytorchMode = 'eager' | 'compile' | 'cudagraphs';

/** Where and how {@link measurePytorch} runs; the defaults are `pnpm bench --vs-pytorch`'s (CPU, b64 and b256). */
export interface PytorchRunOptions {
  python?: string;
  device?: string;
  trainBatches?: readonly number[];
  inferBatch?: number;
  mode?: PytorchMode;
  timeoutSeconds?: number;
}

/** Runs the PyTorch reference once with `threads` intra-op threads. */
export async function measurePytorch(
  idxDir: string,
  threads: number,
  runs: number,
  steps: number,
  options: PytorchRunOptions = {},
): Promise<PytorchResult> {
  const onCpu = (options.device ?? 'cpu') === 'cpu';
  const args = [
    ...(options.device ? ['--device', options.device] : []),
    ...(options.trainBatches ? ['--batches', options.trainBatches.join(',')] : []),
    ...(options.inferBatch ? ['--infer-batch', String(options.inferBatch)] : []),
    ...(options.mode ? ['--mode', options.mode] : []),
  ];
  const { stdout } = await run(
    options.python ?? PYTHON,
    [SCRIPT, idxDir, String(threads), String(runs), String(steps), ...args],
    {
      // The allocator matters on the CPU, where PyTorch's activations live (see ALLOCATORS).
      env: onCpu ? pytorchEnvironment(findAllocator()) : process.env,
      maxBuffer: 1 << 20,
      ...(options.timeoutSeconds ? { timeout: options.timeoutSeconds * 1000 } : {}),
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as PytorchResult;
}
