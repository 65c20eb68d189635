import { errnoMeaning } from '@lenet/node';

/** A mistake in how the CLI was called: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The subcommand whose `--help` to point at; filled in by the CLI when a helper throws. */
    public command?: string,
  ) {
    super(message);
  }
}

/** Something the user can fix outside the CLI (a file, a backend, a flag's value): exit status 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** The one-line message a user sees for any error: ours, a library's, or the system's. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, path, dest } = error as NodeJS.ErrnoException & { dest?: string };
  const meaning = errnoMeaning(error);
  if (meaning !== undefined) {
    if (path) return `${path}${dest ? ` -> ${dest}` : ''}: ${meaning}`;
    return `${meaning} (${code})`;
  }
  // Node's own messages put the code first ("EINVAL: invalid argument, open '/x'"): already one line.
  return error.message.replace(/\s*\n\s*/g, ' ');
}
