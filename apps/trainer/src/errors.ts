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
  const code = (error as NodeJS.ErrnoException).code;
  const path = (error as NodeJS.ErrnoException).path;
  if (code === 'ENOENT' && path) return `no such file or directory: ${path}`;
  if (code === 'EACCES' && path) return `permission denied: ${path}`;
  if (code === 'ENOSPC') return `no space left on the device${path ? ` writing ${path}` : ''}`;
  return error.message;
}
