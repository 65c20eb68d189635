import { quoteName } from './describe-untrusted';
import { PyTorchFormatError } from './errors';
import { PYTORCH_READ_LIMITS } from './limits';

// Signatures of the zip records this reader uses (APPNOTE.TXT 4.3).
const LOCAL_FILE_HEADER = 0x04034b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_FIELD = 0x0001;
const STORED = 0;
const DEFLATED = 8;

const TRUNCATED =
  'the file is truncated or is not a zip archive. Copy the whole file again, or re-save it with torch.save()';

/**
 * The entries of a zip archive as views into `bytes`, by name. Reads only what `torch.save` writes:
 * uncompressed (STORED) entries, with or without zip64 records. Every entry's CRC-32 is checked,
 * so a damaged file is an error, not wrong weights. The entries may not repeat a name nor together claim
 * more bytes than the file holds, and there are at most {@link PYTORCH_READ_LIMITS}`.zipEntries` of them.
 * @throws {@link PyTorchFormatError} for a truncated or corrupt archive or a compressed or encrypted entry.
 */
export function readZipEntries(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => check(at, 2, bytes) && view.getUint16(at, true);
  const u32 = (at: number) => check(at, 4, bytes) && view.getUint32(at, true);
  const u64 = (at: number) => {
    const value = u32(at) + u32(at + 4) * 2 ** 32;
    if (!Number.isSafeInteger(value))
      throw new PyTorchFormatError(`zip: a 64-bit size is too large; ${TRUNCATED}`);
    return value;
  };

  const end = findEndOfCentralDirectory(bytes, view);
  let count = u16(end + 10);
  let directorySize = u32(end + 12);
  let directoryOffset = u32(end + 16);
  // Fields saturated at their maximum mean "look in the zip64 record".
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || u32(locator) !== ZIP64_LOCATOR) {
      throw new PyTorchFormatError(
        `zip: the zip64 end-of-central-directory locator is missing; ${TRUNCATED}`,
      );
    }
    const record = u64(locator + 8);
    if (u32(record) !== ZIP64_END_OF_CENTRAL_DIRECTORY) {
      throw new PyTorchFormatError(`zip: the zip64 end-of-central-directory record is missing; ${TRUNCATED}`);
    }
    count = u64(record + 32);
    directorySize = u64(record + 40);
    directoryOffset = u64(record + 48);
  }
  if (directoryOffset + directorySize > bytes.length) {
    throw new PyTorchFormatError(`zip: the central directory lies beyond the end of the file; ${TRUNCATED}`);
  }
  if (count > PYTORCH_READ_LIMITS.zipEntries) {
    throw new PyTorchFormatError(
      `zip: the archive claims ${count} entries, more than the ${PYTORCH_READ_LIMITS.zipEntries} this reader accepts`,
    );
  }
  // Every central directory record takes at least 46 bytes, so a larger count is a lie.
  if (count * 46 > directorySize) {
    throw new PyTorchFormatError(
      `zip: the archive claims ${count} entries, but its central directory has room for ${Math.floor(directorySize / 46)}; ${TRUNCATED}`,
    );
  }

  const entries = new Map<string, Uint8Array>();
  // The entries may not together claim more bytes than the file holds: many entries over one region would
  // make the CRC checks take time quadratic in the file's size.
  let entryBytes = 0;
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (u32(at) !== CENTRAL_DIRECTORY_HEADER) {
      throw new PyTorchFormatError(`zip: central directory entry ${i} is damaged; ${TRUNCATED}`);
    }
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localOffset = u32(at + 42);
    check(at + 46, nameLength + extraLength + commentLength, bytes);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));

    // zip64 extra field: the 64-bit values of exactly those fields that are saturated, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = u16(extra);
      const length = u16(extra + 2);
      if (id === ZIP64_EXTRA_FIELD) {
        let field = extra + 4;
        if (size === 0xffffffff) {
          size = u64(field);
          field += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(field);
          field += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(field);
      }
      extra += 4 + length;
    }
    at = extraEnd + commentLength;

    if (flags & 1)
      throw new PyTorchFormatError(`zip: entry ${quoteName(name)} is encrypted; save it without encryption`);
    if (method === DEFLATED) {
      throw new PyTorchFormatError(
        `zip: entry ${quoteName(name)} is compressed (deflate), but torch.save writes entries uncompressed. ` +
          'Load it in PyTorch and save it again with torch.save(), or export it to .safetensors',
      );
    }
    if (method !== STORED) {
      throw new PyTorchFormatError(
        `zip: entry ${quoteName(name)} uses compression method ${method}; only uncompressed entries are read`,
      );
    }
    if (compressedSize !== size) {
      throw new PyTorchFormatError(
        `zip: entry ${quoteName(name)} is stored but its two sizes differ (${compressedSize}, ${size}); ${TRUNCATED}`,
      );
    }
    if (u32(localOffset) !== LOCAL_FILE_HEADER) {
      throw new PyTorchFormatError(`zip: the local header of ${quoteName(name)} is missing; ${TRUNCATED}`);
    }
    const dataStart = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    if (dataStart + size > bytes.length) {
      throw new PyTorchFormatError(
        `zip: entry ${quoteName(name)} runs past the end of the file; ${TRUNCATED}`,
      );
    }
    entryBytes += size;
    if (entryBytes > bytes.length) {
      throw new PyTorchFormatError(
        `zip: the entries together claim more bytes than the file holds, so some overlap; ${TRUNCATED}`,
      );
    }
    if (entries.has(name)) {
      throw new PyTorchFormatError(
        `zip: the archive holds ${quoteName(name)} twice, so it is ambiguous which one to read; re-save it with torch.save()`,
      );
    }
    const data = bytes.subarray(dataStart, dataStart + size);
    if (crc32(data) !== crc) {
      throw new PyTorchFormatError(
        `zip: entry ${quoteName(name)} fails its CRC-32 check (the file is corrupt); copy it again`,
      );
    }
    entries.set(name, data);
  }
  return entries;
}

/** Offset of the end-of-central-directory record, searched backwards past a comment of up to 64 KiB. */
function findEndOfCentralDirectory(bytes: Uint8Array, view: DataView): number {
  const last = bytes.length - 22;
  for (let at = last; at >= 0 && at >= last - 0xffff; at--) {
    if (view.getUint32(at, true) === END_OF_CENTRAL_DIRECTORY) return at;
  }
  throw new PyTorchFormatError(`zip: no end-of-central-directory record found; ${TRUNCATED}`);
}

function check(at: number, length: number, bytes: Uint8Array): true {
  if (at < 0 || at + length > bytes.length) {
    throw new PyTorchFormatError(
      `zip: a record points past the end of the file (offset ${at}); ${TRUNCATED}`,
    );
  }
  return true;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3), as zip uses it. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
