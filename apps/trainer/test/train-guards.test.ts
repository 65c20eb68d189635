import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../src/out-dir';
import { expectCleanError, lenet } from './run-cli';

// What `lenet train` refuses or repairs before it trains: its --out folder, its lock, a damaged
// checkpoint, a run that diverges.
const SHORT = ['--limit', '256', '--test-limit', '100', '--epochs', '1'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-guards-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (so no process holds it, for a while at least). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('lenet train --out', () => {
  it('refuses a folder that cannot be made, at once and in one line', async () => {
    // Node's recursive mkdir spins forever under /proc.
    expectCleanError(
      await lenet(['train', ...SHORT, '--out', '/proc/lenet-run']),
      1,
      /^lenet: error: --out \/proc\/lenet-run: cannot create the folder \/proc\/lenet-run: .*; choose another --out\n$/,
    );
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    expectCleanError(
      await lenet(['train', ...SHORT, '--out', join(file, 'run')]),
      1,
      /--out .*a-file\/run: .*a file, where a folder was expected; choose another --out/,
    );
    expectCleanError(await lenet(['train', ...SHORT, '--out', file]), 1, /a-file is a file, not a folder/);
  });

  it('lets one run at a time write a folder, and takes over the lock of a dead one, removing its leftovers', async () => {
    const out = join(dir, 'shared');
    await mkdir(join(out, 'checkpoints', '.epoch-001.tmp-4242', 'model'), { recursive: true });
    await writeFile(join(out, 'checkpoints', '.latest.json.0123456789ab.tmp'), '{"ep');
    await writeFile(join(out, 'notes.txt'), 'mine');
    await writeFile(join(out, LOCK_FILE), `${await deadPid()}@${hostname()}\n`);

    const first = lenet(['train', ...SHORT, '--out', out]);
    // The first run takes the lock (and clears the leftovers) in its first moments, before it loads data.
    const lockPath = join(out, LOCK_FILE);
    const staging = join(out, 'checkpoints', '.epoch-001.tmp-4242');
    for (let i = 0; i < 400 && existsSync(staging); i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(existsSync(lockPath)).toBe(true);
    const second = await lenet(['train', ...SHORT, '--out', out]);
    expectCleanError(
      second,
      1,
      /another 'lenet train' \(process \d+@.*\) is writing to .*shared; wait for it/,
    );

    const done = await first;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/took over the lock of a run that is no longer running/);
    expect(done.stdout).toMatch(/removed 2 unfinished writes of a crashed run/);
    expect(existsSync(lockPath)).toBe(false);
    expect((await readdir(join(out, 'checkpoints'))).sort()).toEqual(['epoch-001', 'latest.json']);
    expect(existsSync(join(out, 'notes.txt'))).toBe(true);
  });
});

describe('lenet train --resume', () => {
  const damaged = async (name: string, files: Record<string, string>) => {
    const out = join(dir, name);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(out, path, '..'), { recursive: true });
      await writeFile(join(out, path), text);
    }
    return lenet(['train', ...SHORT, '--resume', '--out', out]);
  };

  it('names the checkpoint file that is damaged, and never follows latest.json out of checkpoints/', async () => {
    expectCleanError(
      await damaged('bad-latest', { 'checkpoints/latest.json': '{"epoch": 1, "dir": ' }),
      1,
      /--resume: .*bad-latest\/checkpoints\/latest\.json is not valid JSON .*train without --resume/,
    );
    expectCleanError(
      await damaged('escaping-latest', {
        'checkpoints/latest.json': '{"epoch": 1, "dir": "../../elsewhere"}',
      }),
      1,
      /latest\.json does not name a checkpoint folder .*"\.\.\/\.\.\/elsewhere"/,
    );
    expectCleanError(
      await damaged('bad-state', {
        'checkpoints/latest.json': '{"epoch": 1, "dir": "epoch-001"}',
        'checkpoints/epoch-001/state.json': '{"epoch": "one"}',
      }),
      1,
      /bad-state\/checkpoints\/epoch-001\/state\.json is not a checkpoint state written by 'lenet train'/,
    );
  });
});

describe('a run that diverges', () => {
  it('says that no checkpoint exists yet when it diverges in the first epoch, and warns of more workers than cores', async () => {
    const workers = String(availableParallelism() + 1);
    const run = await lenet([
      'train',
      ...SHORT,
      '--lr',
      '1e38',
      '--workers',
      workers,
      '--out',
      join(dir, 'diverged'),
    ]);
    expectCleanError(
      run,
      1,
      /training diverged at epoch 1, step \d+: the loss became NaN\. Try a 10x lower --lr.*no checkpoint was written yet/,
    );
    expect(run.stderr).not.toMatch(/intact/);
    expect(run.stderr).toContain(
      `warning: --workers ${workers} is more than the ${availableParallelism()} cores here`,
    );
  });
});
