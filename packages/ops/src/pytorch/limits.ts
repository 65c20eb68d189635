/**
 * The most that {@link readTorchCheckpoint}, {@link readSafetensors} and {@link importPyTorchWeights} accept
 * from an untrusted file. Each is checked before the memory it bounds is allocated, and a file beyond one is
 * refused with a {@link PyTorchFormatError}. Every limit is far above what a real state_dict needs (the seed's
 * LeNet-5 uses a tiny fraction of each), and low enough that no file can make a reader take unbounded memory,
 * time or stack.
 */
export const PYTORCH_READ_LIMITS = Object.freeze({
  /** Entries of a .pt zip archive (one per tensor storage, plus a few). */
  zipEntries: 1_000_000,
  /** Bytes of the `data.pkl` pickle, which describes the tensors (about 100 bytes per tensor). */
  pickleBytes: 64 * 1024 * 1024,
  /** Opcodes the unpickler executes: each may create an object, so this bounds the objects of a pickle. */
  pickleOps: 4_000_000,
  /** Entries of the pickle's memo. */
  pickleMemoEntries: 1_000_000,
  /** Bytes of one string in the pickle (a tensor's name is short). */
  pickleStringBytes: 1024 * 1024,
  /** Bytes of a GLOBAL's module or name. */
  pickleGlobalNameBytes: 1024,
  /** How deep tuples, lists and dicts may nest in the pickle (a state_dict nests about 4 deep). */
  pickleNesting: 100,
  /** Bytes of a .safetensors JSON header (about 100 bytes per tensor). */
  safetensorsHeaderBytes: 16 * 1024 * 1024,
  /** How deep arrays and objects may nest in a .safetensors header (a valid one nests 3 deep). */
  safetensorsHeaderNesting: 16,
  /** Dimensions of one tensor. */
  tensorRank: 64,
});
