import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

// These tests run the built CLI (turbo builds it before `test`), as a user would.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** How a `lenet` process ended: its exit code (null when a signal ended it), the signal, its output. */
export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `lenet ...args` to its end; `env` adds to (or, with undefined values, removes from) this process's. */
export function lenet(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const merged: NodeJS.ProcessEnv = { ...process.env, CI: 'true', LENET_CRASH_AT: undefined, ...env };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: merged }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        signal: (error?.signal as NodeJS.Signals | undefined) ?? null,
        stdout,
        stderr,
      });
    });
  });
}

/** A usage or input error: exit `code`, one line naming the problem, no stack trace. */
export function expectCleanError(run: Run, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}
