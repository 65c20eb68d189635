import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's interpreter: python3-torch installs there, and the `python3` on PATH may be another one. */
export const PYTHON = process.env.LENET_BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../pytorch/lenet5_bench.py', import.meta.url));

export interface PytorchResult {
  threads: number;
  torch: string;
  trainImagesPerSecond: Record<string, number>;
  inferImagesPerSecond: number;
}

/** The installed PyTorch version, or why there is none. */
export async function pytorchVersion(): Promise<{ version?: string; missing?: string }> {
  try {
    const { stdout } = await run(PYTHON, ['-c', 'import torch; print(torch.__version__)']);
    return { version: stdout.trim() };
  } catch {
    return { missing: `PyTorch is not importable from ${PYTHON} (apt-get install python3-torch)` };
  }
}

/** Runs the PyTorch reference once with `threads` intra-op threads. */
export async function measurePytorch(
  idxDir: string,
  threads: number,
  runs: number,
  steps: number,
): Promise<PytorchResult> {
  const { stdout } = await run(PYTHON, [SCRIPT, idxDir, String(threads), String(runs), String(steps)], {
    // Passive waiting keeps idle OpenMP threads from spinning on the core that ours would use next.
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as PytorchResult;
}
