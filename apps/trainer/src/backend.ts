import { type BackendChoice, listBackends, type NodeBackendName } from '@lenet/node';
import { UsageError } from './errors';

/** Validates `--backend`: 'auto' or one of the Node backends @lenet/node knows. */
export function parseBackend(value: string | undefined): 'auto' | NodeBackendName {
  if (value === undefined || value === 'auto') return 'auto';
  const known = listBackends();
  if (!known.includes(value)) {
    throw new UsageError(`--backend must be auto or one of ${known.join(', ')}; got '${value}'`);
  }
  return value as NodeBackendName;
}

/** The line a run starts with, as the seed prints `device`: what runs, and why faster ones did not. */
export function describeBackend(choice: BackendChoice): string {
  const skipped = choice.skipped.map((s) => `${s.name}: ${s.reason}`);
  const fallback =
    choice.requested === 'auto' && skipped.length > 0 ? ` (auto; skipped ${skipped.join('; ')})` : '';
  return `backend: ${choice.name} on ${choice.device}${fallback}`;
}
