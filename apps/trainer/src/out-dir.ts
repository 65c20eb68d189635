import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { errnoMeaning } from '@lenet/node';
import { CliError, describeError } from './errors';

/** The lock file a `train` run holds in its `--out` folder while it runs. */
export const LOCK_FILE = '.lenet-train.lock';

/** How long creating and locking `--out` may take before we give up (a hung network mount, say). */
const PREPARE_TIMEOUT_MS = 15_000;

/** The folders under `--out` where a run writes through temporary files that a crash can leave behind. */
const WRITTEN_FOLDERS = ['.', 'checkpoints', 'model', 'report'];

/**
 * What a crash leaves: `.epoch-NNN.tmp-PID/` staging folders of checkpoints, and the `.<name>.<hex>.tmp`
 * files of atomic writes. Only these names are ever removed.
 */
const LEFTOVER = /^(\.epoch-\d+\.tmp-\d+|\..+\.[0-9a-f]{12}\.tmp)$/;

/** A `--out` folder this process holds: release the lock when the run ends, however it ends. */
export interface LockedOutDir {
  path: string;
  /** Lines to show the user: a stale lock taken over, leftovers removed. */
  notes: string[];
  release(): Promise<void>;
}

/**
 * Makes `out` a folder (with its parents), takes its lock, and removes what crashed runs left there.
 * A second run on the same folder is refused while the first is alive; a lock whose process is gone
 * is taken over with a note.
 * @throws CliError naming `out` when it cannot be a folder, is not writable, is locked, or does not
 *   answer in time.
 */
export async function lockOutDir(out: string): Promise<LockedOutDir> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliError(
            `--out ${out}: creating and locking the folder did not finish within ${PREPARE_TIMEOUT_MS / 1000} s; ` +
              'is it on a file system that does not answer? Choose another --out',
          ),
        ),
      PREPARE_TIMEOUT_MS,
    );
    timer.unref();
  });
  try {
    return await Promise.race([prepare(out), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function prepare(out: string): Promise<LockedOutDir> {
  await makeFolder(out);
  const notes: string[] = [];
  const lockPath = join(out, LOCK_FILE);
  const stale = await takeLock(lockPath);
  if (stale !== undefined) notes.push(`took over the lock of a run that is no longer running (${stale})`);
  const removed = await removeLeftovers(out);
  if (removed > 0)
    notes.push(`removed ${removed} unfinished write${removed === 1 ? '' : 's'} of a crashed run`);
  let released = false;
  return {
    path: out,
    notes,
    async release() {
      if (released) return;
      released = true;
      await rm(lockPath, { force: true });
    },
  };
}

/**
 * `mkdir -p`, refusing what cannot be a folder. Node's own recursive mkdir spins forever where a parent
 * exists but refuses new entries (such as /proc), so this walks the path itself: find the nearest
 * existing ancestor, check it is a folder, then create each missing part once.
 */
async function makeFolder(out: string): Promise<void> {
  const missing: string[] = [];
  let existing = out;
  for (;;) {
    const stats = await stat(existing).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new CliError(`--out ${out}: ${errnoMeaning(error) ?? error.message}; choose another --out`);
    });
    if (stats) {
      if (!stats.isDirectory()) {
        throw new CliError(`--out ${out}: ${existing} is a file, not a folder; choose another --out`);
      }
      break;
    }
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(folder)).isDirectory()) continue;
      throw new CliError(
        `--out ${out}: cannot create the folder ${folder}: ${errnoMeaning(error) ?? (error as Error).message}; ` +
          'choose another --out',
      );
    }
  }
}

/**
 * Creates the lock file exclusively, holding this process's id. Returns a description of the stale lock
 * it replaced, if any.
 */
async function takeLock(lockPath: string): Promise<string | undefined> {
  const owner = `${process.pid}@${hostname()}`;
  let stale: string | undefined;
  // Twice at most: once, and once more after removing a stale lock. If another run took the lock between
  // our removal and our creation, the second try fails and refuses like a live lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(lockPath, 'wx');
      try {
        await file.writeFile(`${owner}\n`);
      } finally {
        await file.close();
      }
      return stale;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CliError(`cannot lock ${lockPath}: ${describeError(error)}; check that --out is writable`);
      }
    }
    const holder = (await readFile(lockPath, 'utf8').catch(() => '')).trim();
    const [pid, host] = holder.split('@');
    const alive = host !== hostname() || isRunning(Number(pid));
    if (alive || attempt > 0) {
      throw new CliError(
        `another 'lenet train' (process ${holder || 'unknown'}) is writing to ${dirname(lockPath)}; ` +
          `wait for it to finish, or choose another --out (delete ${lockPath} only if that process is gone)`,
      );
    }
    stale = `process ${holder}`;
    await rm(lockPath, { force: true });
  }
  return stale;
}

function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes crash leftovers (see {@link LEFTOVER}) from the folders a run writes; returns how many. */
async function removeLeftovers(out: string): Promise<number> {
  let removed = 0;
  for (const folder of WRITTEN_FOLDERS) {
    const path = join(out, folder);
    const names = await readdir(path).catch(() => [] as string[]);
    for (const name of names.filter((n) => LEFTOVER.test(n))) {
      await rm(join(path, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
