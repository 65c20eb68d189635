/**
 * What the system's error codes mean, in words that read well after a path ("<path>: permission denied").
 * Node's own messages ("EACCES: permission denied, open '/x'") repeat the path and the code.
 */
const ERRNO_MEANINGS: Record<string, string> = {
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
  ENFILE: 'too many open files on this system; close other programs',
  ELOOP: 'too many symbolic links (a link loop?)',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error from the device; check the disk',
  EBUSY: 'the file or device is busy',
  EXDEV: 'cannot move across file systems',
};

/** What a system error means, without its path ("permission denied"); undefined for errors without a known code. */
export function errnoMeaning(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? undefined : ERRNO_MEANINGS[code];
}
