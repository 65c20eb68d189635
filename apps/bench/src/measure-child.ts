import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BackendResult } from './measure';

const exec = promisify(execFile);
/** The bench's own entry, which measures one backend when started with --measure (dist/bench.js). */
const BENCH = fileURLToPath(new URL('./bench.js', import.meta.url));

/** What a measuring child is told besides the backend: the sizes, the data, and whether to run the stock kernels. */
export interface ChildOptions {
  runs: number;
  steps: number;
  trainBatches?: readonly number[];
  inferBatch?: number;
  data?: string;
  stock?: boolean;
  gpuAdapter?: string;
  /** Kill the child after this many seconds. */
  timeoutSeconds?: number;
}

/** Measures one backend in a fresh process, so backends and peak memory do not mix. */
export async function measureInChild(backend: string, options: ChildOptions): Promise<BackendResult> {
  const args = [
    ...['--measure', backend, '--runs', String(options.runs), '--steps', String(options.steps)],
    ...(options.trainBatches ? ['--batches', options.trainBatches.join(',')] : []),
    ...(options.inferBatch ? ['--infer-batch', String(options.inferBatch)] : []),
    ...(options.data ? ['--data', options.data] : []),
    ...(options.stock ? ['--stock'] : []),
    ...(options.gpuAdapter ? ['--gpu-adapter', options.gpuAdapter] : []),
  ];
  // The bench's own Node flags too (`node --experimental-wasm-relaxed-simd …` measures that build on Node 20).
  const { stdout } = await exec(process.execPath, [...process.execArgv, BENCH, ...args], {
    maxBuffer: 1 << 20,
    ...(options.timeoutSeconds ? { timeout: options.timeoutSeconds * 1000 } : {}),
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as BackendResult;
}

/** The last line a failed child process printed: the error its `main` reports (or that it was stopped). */
export function childFailure(error: unknown): string {
  const { killed, signal } = error as { killed?: boolean; signal?: string };
  if (killed) return `stopped at its time cap (${signal ?? 'killed'})`;
  return String((error as { stderr?: string }).stderr || error)
    .trim()
    .split('\n')
    .pop()!;
}
