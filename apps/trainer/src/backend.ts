import { type BackendChoice, type BackendOptions, listBackends, type NodeBackendName } from '@lenet/node';
import { UsageError } from './errors';

/** Validates `--backend`: 'auto' or one of the Node backends @lenet/node knows. */
export function parseBackend(value: string | undefined): 'auto' | NodeBackendName {
  if (value === undefined || value === 'auto') return 'auto';
  const known = listBackends();
  if (!(known as readonly string[]).includes(value)) {
    throw new UsageError(`--backend must be auto or one of ${known.join(', ')}; got '${value}'`);
  }
  return value as NodeBackendName;
}

/** The help lines of --backend and --gpu-adapter, shared by every command that computes. */
export const BACKEND_HELP_LINES = `  --backend NAME        auto | ${listBackends().join(' | ')}  [auto]
  --gpu-adapter NAME    webgpu: the GPU adapter whose name contains NAME (see 'lenet doctor')`;

/** The command-line options of a backend: `--backend` and `--gpu-adapter`. */
export const BACKEND_OPTIONS = {
  backend: { type: 'string' },
  'gpu-adapter': { type: 'string' },
} as const;

/** Validates `--gpu-adapter`: a non-empty part of an adapter's name, as 'lenet doctor' lists them. */
export function parseBackendOptions(gpuAdapter: string | undefined): BackendOptions {
  if (gpuAdapter === undefined) return {};
  if (gpuAdapter.trim() === '') {
    throw new UsageError(
      "--gpu-adapter needs (part of) an adapter name, e.g. 'NVIDIA'; 'lenet doctor' lists them",
    );
  }
  return { gpuAdapter };
}

/** The line a run starts with, as the seed prints `device`: what runs, and why faster ones did not. */
export function describeBackend(choice: BackendChoice): string {
  const skipped = choice.skipped.map((s) => `${s.name}: ${s.reason}`);
  const fallback =
    choice.requested === 'auto' && skipped.length > 0 ? ` (auto; skipped ${skipped.join('; ')})` : '';
  return `backend: ${choice.name} on ${choice.device}${fallback}`;
}
