import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** A regular file opened for reading, and its size when it was opened. */
export interface OpenFile {
  handle: FileHandle;
  size: number;
}

/**
 * Opens `path` for reading and checks, on the open handle (so nothing can be swapped in between), that it is a
 * regular file. O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever; Windows has
 * no such flag and needs none. `extraFlags` adds flags such as O_NOFOLLOW.
 * @returns the open file (the caller closes it), or what the path is instead ('a directory', 'a FIFO (named
 *   pipe)', ...), with nothing left open.
 * @throws the file system's own error when the path cannot be opened.
 */
export async function openRegularFile(path: string, extraFlags = 0): Promise<OpenFile | { kind: string }> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | extraFlags);
  try {
    const stats = await handle.stat();
    if (stats.isFile()) return { handle, size: stats.size };
    await handle.close();
    return { kind: fileKind(stats) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The first `length` bytes of `file`, never more even if it grows meanwhile; fewer if it ends sooner. */
export async function readAtMost(file: OpenFile, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.handle.read(bytes, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}
