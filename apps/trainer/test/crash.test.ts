import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRASH_POINTS } from '../src/crash-point';
import { lenet } from './run-cli';

// Kills `lenet train` with a real SIGKILL at named moments (LENET_CRASH_AT, see src/crash-point.ts),
// then checks that `--resume` finishes with the same bytes as a run that was never interrupted.
// `pnpm --filter @lenet/trainer test:crash` walks every point with both worker counts; `pnpm test`
// takes a handful.

// Hundreds of small steps an epoch: Adam's float32 beta powers drift from a recomputed pow() within
// them, so a resume that does not carry them exactly shows up here.
const RUN = ['--limit', '3000', '--batch-size', '8', '--test-limit', '100', '--epochs', '2'];
const STEPS_PER_EPOCH = 375;

interface Kill {
  /** LENET_CRASH_AT: a crash point, and the how-manieth time it is reached. */
  at: string;
  workers: 1 | 2;
}

const QUICK: Kill[] = [
  { at: `step@${STEPS_PER_EPOCH + 100}`, workers: 1 },
  { at: 'checkpoint:weights@2', workers: 1 },
  { at: 'checkpoint:renamed@1', workers: 2 },
  { at: 'metrics@2', workers: 1 },
];

const EVERY: Kill[] = ([1, 2] as const).flatMap((workers) =>
  CRASH_POINTS.flatMap((point) =>
    point === 'step'
      ? [`step@1`, `step@${STEPS_PER_EPOCH}`, `step@${STEPS_PER_EPOCH + 200}`]
      : point === 'model'
        ? ['model@1']
        : [`${point}@1`, `${point}@2`],
  ).map((at) => ({ at, workers })),
);

const KILLS = process.env.LENET_CRASH_TEST === 'all' ? EVERY : QUICK;

const train = (args: string[], crashAt?: string) => lenet(['train', ...args], { LENET_CRASH_AT: crashAt });

/** Every file under `dir`, with its bytes, except what legitimately differs between runs (timings, the report). */
async function finalFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of ['model/model.json', 'model/weights.bin']) {
    files.set(name, await readFile(join(dir, name)));
  }
  const checkpoints = join(dir, 'checkpoints');
  for (const name of (await readdir(checkpoints)).sort()) {
    if (!name.startsWith('epoch-')) continue;
    for (const file of ['model/weights.bin', 'optimizer/weights.bin']) {
      files.set(`checkpoints/${name}/${file}`, await readFile(join(checkpoints, name, file)));
    }
  }
  return files;
}

/** Names a crash may leave behind: staging folders, temporary files, the lock. */
async function leftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const folder of ['.', 'checkpoints', 'model', 'report']) {
    const names = await readdir(join(dir, folder)).catch(() => [] as string[]);
    found.push(...names.filter((n) => n.startsWith('.')).map((n) => `${folder}/${n}`));
  }
  return found;
}

let root: string;
const reference = new Map<number, Map<string, Buffer>>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lenet-crash-'));
  for (const workers of new Set(KILLS.map((k) => k.workers))) {
    const dir = join(root, `reference-${workers}`);
    const run = await train([...RUN, '--workers', String(workers), '--out', dir]);
    expect(run.code, run.stderr).toBe(0);
    reference.set(workers, await finalFiles(dir));
  }
}, 600_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a train run killed with SIGKILL, then resumed', () => {
  it.each(KILLS)(
    'at $at ($workers worker(s)) ends with the same bytes as the uninterrupted run',
    async ({ at, workers }) => {
      const dir = join(root, `${at.replace(/[^a-z0-9]+/gi, '-')}-${workers}`);
      const args = [...RUN, '--workers', String(workers), '--out', dir];
      const killed = await train(args, at);
      expect(killed.signal, killed.stderr).toBe('SIGKILL');

      const complete = (await readdir(join(dir, 'checkpoints')).catch(() => [] as string[])).filter((n) =>
        /^epoch-\d+$/.test(n),
      );
      const resumed = await train([...args, '--resume']);
      // The lock of the killed run is taken over, whether or not there is a checkpoint to go on from.
      expect(resumed.stdout).toMatch(/took over the lock of a run that is no longer running/);
      if (resumed.code !== 0) {
        // Killed before its first checkpoint was in place: nothing to resume, and the message says so.
        expect(complete, resumed.stderr).toEqual([]);
        expect(resumed.stderr).toMatch(/--resume: cannot read .*latest\.json.*train without --resume/);
        const fresh = await train(args);
        expect(fresh.code, fresh.stderr).toBe(0);
      }
      const files = await finalFiles(dir);
      const expected = reference.get(workers)!;
      expect([...files.keys()]).toEqual([...expected.keys()]);
      for (const [name, bytes] of expected) {
        expect(files.get(name)!.equals(bytes), `${name} differs from the uninterrupted run's`).toBe(true);
      }
      const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
      expect(metrics.epochs.map((m: { epoch: number }) => m.epoch)).toEqual([1, 2]);
      // The last evaluation's report is complete, whichever run drew it.
      for (const name of ['confusion.svg', 'mistakes.png']) {
        expect(existsSync(join(dir, 'report', name)), name).toBe(true);
      }
      expect(await leftovers(dir)).toEqual([]);
    },
  );
});
