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

/** What the system's error codes mean for the user, phrased to follow "path: ". */
const ERRNO_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, where a file was expected',
  ENOTDIR: 'a part of this path is a file, where a folder was expected',
  EEXIST: 'already exists',
  ENOTEMPTY: 'the folder is not empty',
  ENOSPC: 'no space left on the device; free some space and try again',
  EDQUOT: 'the disk quota is exceeded; free some space and try again',
  EROFS: 'the file system is read-only; choose a writable place',
  EMFILE: 'too many open files; raise the limit (ulimit -n) or close other programs',
  ELOOP: 'too many symbolic links (a link loop?)',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error from the device; check the disk',
  EBUSY: 'the file or device is busy',
  EXDEV: 'cannot move across file systems',
};

/** What a system error means, without its path ("permission denied"); undefined for other errors. */
export function errnoMeaning(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? undefined : ERRNO_MESSAGES[code];
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
