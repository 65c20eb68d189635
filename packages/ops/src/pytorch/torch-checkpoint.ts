import { describeUntrusted, quoteName } from './describe-untrusted';
import { elementCount, type StoredTensor } from './dtypes';
import { PyTorchFormatError } from './errors';
import { PYTORCH_READ_LIMITS } from './limits';
import { type PickleCallable, unpickle } from './pickle';
import { readZipEntries } from './zip';

/** PyTorch's storage classes, as a pickle names them, and the dtype (with its size) each holds. */
const STORAGE_DTYPES: Record<string, { dtype: string; size: number }> = {
  'torch.FloatStorage': { dtype: 'F32', size: 4 },
  'torch.DoubleStorage': { dtype: 'F64', size: 8 },
  'torch.HalfStorage': { dtype: 'F16', size: 2 },
  'torch.BFloat16Storage': { dtype: 'BF16', size: 2 },
  'torch.LongStorage': { dtype: 'I64', size: 8 },
  'torch.IntStorage': { dtype: 'I32', size: 4 },
  'torch.ShortStorage': { dtype: 'I16', size: 2 },
  'torch.CharStorage': { dtype: 'I8', size: 1 },
  'torch.ByteStorage': { dtype: 'U8', size: 1 },
  'torch.BoolStorage': { dtype: 'BOOL', size: 1 },
};

/** The class of a storage named by GLOBAL; only ever used inside a persistent id. */
interface StorageType {
  readonly storageType: string;
  readonly dtype: string;
  readonly size: number;
}

/** One storage file of the archive (`data/N`), viewed as elements of its dtype. */
interface Storage {
  readonly dtype: string;
  readonly size: number;
  readonly bytes: Uint8Array;
}

/** What `torch._utils._rebuild_tensor_v2` builds: a view into a storage. */
class TensorRef {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

/** Names that point the user at the right way of saving when they appear as a refused global. */
function refusedGlobalHint(qualifiedName: string): string {
  if (qualifiedName.startsWith('__main__.') || qualifiedName.includes('.nn.modules.')) {
    return 'This looks like torch.save(model), which pickles Python code; save torch.save(model.state_dict(), path) instead.';
  }
  return 'Save the weights with torch.save(model.state_dict(), path), or as .safetensors.';
}

/**
 * Reads the tensors of a `.pt` / `.pth` file written by `torch.save(model.state_dict(), path)`
 * (PyTorch 1.6+ zip format: `<name>/data.pkl` plus one `<name>/data/<key>` file per storage).
 * The pickle is read by a safe interpreter that knows only `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2` (and `_rebuild_parameter`) and the storage classes; nothing in the
 * file is executed. A checkpoint dict holding the state_dict under `state_dict`, `model_state_dict` or
 * `model` is accepted too.
 * @returns The tensors by name, in the file's order, with their raw bytes.
 * @throws {@link PyTorchFormatError} for anything else, naming what it met.
 */
export function readTorchCheckpoint(bytes: Uint8Array): Map<string, StoredTensor> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5) {
    throw new PyTorchFormatError(
      'this .pt uses the legacy (pre-1.6) serialization. Load it in PyTorch and save it again with torch.save(model.state_dict(), path)',
    );
  }
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new PyTorchFormatError(
      'this is not a PyTorch .pt file (it does not start like a zip archive). Save the weights with torch.save(model.state_dict(), path)',
    );
  }
  const entries = readZipEntries(bytes);
  const pickleName = [...entries.keys()].find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickleName === undefined) {
    const isTorchScript = [...entries.keys()].some((name) => name.endsWith('/constants.pkl'));
    throw new PyTorchFormatError(
      isTorchScript
        ? 'this is a TorchScript archive (torch.jit.save), not a state_dict. Save torch.save(model.state_dict(), path) instead'
        : 'the archive has no <name>/data.pkl, so torch.save did not write it. Save torch.save(model.state_dict(), path)',
    );
  }
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const byteorderEntry = entries.get(`${prefix}byteorder`);
  // Only the start is decoded: 'little' or 'big' (and maybe a newline) is all that a valid entry holds.
  const byteorder = byteorderEntry
    ? new TextDecoder().decode(byteorderEntry.subarray(0, 16)).trim()
    : 'little';
  const tooLong = (byteorderEntry?.length ?? 0) > 16;
  if ((byteorder !== 'little' && byteorder !== 'big') || tooLong) {
    throw new PyTorchFormatError(
      `the archive's byteorder is ${quoteName(byteorder)}${tooLong ? ' and more' : ''}, expected 'little' or 'big'`,
    );
  }

  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    // ('storage', storage class, key, location, number of elements)
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new PyTorchFormatError(
        `data.pkl: unknown persistent id ${describeUntrusted(pid)}; only tensor storages are read`,
      );
    }
    const [, type, key, , count] = pid as [string, StorageType, unknown, unknown, unknown];
    if (typeof type !== 'object' || type === null || !('storageType' in type) || typeof key !== 'string') {
      throw new PyTorchFormatError('data.pkl: a storage reference is malformed');
    }
    const cached = storages.get(key);
    if (cached) return cached;
    const data = entries.get(`${prefix}data/${key}`);
    if (data === undefined) {
      throw new PyTorchFormatError(
        `the archive lacks ${quoteName(`${prefix}data/${key}`)}, which data.pkl refers to; the file is incomplete`,
      );
    }
    if (!Number.isSafeInteger(count) || data.length !== (count as number) * type.size) {
      throw new PyTorchFormatError(
        `${quoteName(`${prefix}data/${key}`)} has ${data.length} bytes, but data.pkl says it holds ` +
          `${describeUntrusted(count)} ${type.dtype} values`,
      );
    }
    const storage = { dtype: type.dtype, size: type.size, bytes: data };
    storages.set(key, storage);
    return storage;
  };

  const root = unpickle(entries.get(pickleName)!, {
    resolveGlobal: (name) => GLOBALS.get(name),
    persistentLoad,
    refusedGlobalHint,
  });
  const stateDict = findStateDict(root);
  const tensors = new Map<string, StoredTensor>();
  for (const [name, value] of stateDict) {
    if (typeof name !== 'string')
      throw new PyTorchFormatError('the state_dict has a key that is not a string');
    if (!(value instanceof TensorRef)) {
      throw new PyTorchFormatError(`state_dict entry ${quoteName(name)} is not a tensor`);
    }
    tensors.set(name, { ...contiguousBytes(name, value), bigEndian: byteorder === 'big' });
  }
  return tensors;
}

/** The state_dict inside what data.pkl holds: itself, or a checkpoint dict's entry. */
function findStateDict(root: unknown): Map<unknown, unknown> {
  if (!(root instanceof Map)) {
    throw new PyTorchFormatError(
      'data.pkl does not hold a dict of tensors. Save torch.save(model.state_dict(), path)',
    );
  }
  if ([...root.values()].every((value) => value instanceof TensorRef)) return root;
  for (const key of ['state_dict', 'model_state_dict', 'model']) {
    const inner = root.get(key);
    if (inner instanceof Map && [...inner.values()].every((value) => value instanceof TensorRef))
      return inner;
  }
  const keys = describeUntrusted([...root.keys()]);
  throw new PyTorchFormatError(
    `data.pkl holds a dict with keys ${keys} but no state_dict of tensors (looked in 'state_dict', 'model_state_dict', 'model'). ` +
      'Save torch.save(model.state_dict(), path)',
  );
}

/** The bytes of a contiguous tensor view; refuses views with gaps or permuted strides. */
function contiguousBytes(name: string, tensor: TensorRef): Omit<StoredTensor, 'bigEndian'> {
  const { storage, offset, shape, strides } = tensor;
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    // A stride is irrelevant along a dimension of size 1.
    if (shape[d] !== 1 && strides[d] !== expected) {
      throw new PyTorchFormatError(
        `tensor ${quoteName(name)} is not contiguous (shape [${shape}], strides [${strides}]). ` +
          'Call .contiguous() on it (or on every tensor of the state_dict) before torch.save',
      );
    }
    expected *= shape[d]!;
  }
  const count = elementCount(shape);
  const start = offset * storage.size;
  const end = start + count * storage.size;
  // A negative start would make subarray() count from the end: wrong bytes instead of an error.
  if (start < 0 || end > storage.bytes.length) {
    throw new PyTorchFormatError(
      `tensor ${quoteName(name)} reaches outside its storage (offset ${offset}, shape [${shape}]); the file is inconsistent`,
    );
  }
  return { dtype: storage.dtype, shape, bytes: storage.bytes.subarray(start, end) };
}

function isIntList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);
}

const rebuildTensor: PickleCallable = {
  qualifiedName: 'torch._utils._rebuild_tensor_v2',
  call(args) {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, offset, shape, strides] = args;
    const isStorage = typeof storage === 'object' && storage !== null && 'bytes' in storage;
    if (
      args.length < 6 ||
      args.length > 7 ||
      !isStorage ||
      !Number.isSafeInteger(offset) ||
      !isIntList(shape) ||
      !isIntList(strides) ||
      shape.length !== strides.length
    ) {
      throw new PyTorchFormatError('data.pkl: a _rebuild_tensor_v2 call has unexpected arguments');
    }
    if (shape.length > PYTORCH_READ_LIMITS.tensorRank) {
      throw new PyTorchFormatError(
        `data.pkl: a tensor has ${shape.length} dimensions, more than the ${PYTORCH_READ_LIMITS.tensorRank} this reader accepts`,
      );
    }
    return new TensorRef(storage as Storage, offset as number, [...shape], [...strides]);
  },
};

const GLOBALS = new Map<string, unknown>([
  [
    'collections.OrderedDict',
    {
      qualifiedName: 'collections.OrderedDict',
      call(args) {
        if (args.length !== 0) throw new PyTorchFormatError('data.pkl: OrderedDict is built with arguments');
        return new Map();
      },
    } satisfies PickleCallable,
  ],
  ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  [
    // state_dict(keep_vars=True) pickles nn.Parameter; its data is the tensor.
    'torch._utils._rebuild_parameter',
    {
      qualifiedName: 'torch._utils._rebuild_parameter',
      call(args) {
        if (!(args[0] instanceof TensorRef))
          throw new PyTorchFormatError('data.pkl: a parameter without a tensor');
        return args[0];
      },
    } satisfies PickleCallable,
  ],
  ...Object.entries(STORAGE_DTYPES).map(([storageType, { dtype, size }]): [string, StorageType] => [
    storageType,
    { storageType, dtype, size },
  ]),
]);
