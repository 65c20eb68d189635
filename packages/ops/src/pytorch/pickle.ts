import { quoteName } from './describe-untrusted';
import { PyTorchFormatError } from './errors';
import { PYTORCH_READ_LIMITS } from './limits';

/**
 * A Python callable that a pickle may name with GLOBAL, implemented here in plain TypeScript.
 * Only these are ever "called" (by REDUCE); nothing from the file is executed or evaluated.
 */
export interface PickleCallable {
  readonly qualifiedName: string;
  call(args: readonly unknown[]): unknown;
}

/** What {@link unpickle} may resolve and how it turns persistent ids into objects. */
export interface UnpickleOptions {
  /**
   * The value GLOBAL `module.name` stands for (a {@link PickleCallable} or a plain marker value),
   * or undefined to refuse it.
   */
  resolveGlobal(qualifiedName: string): unknown;
  /** The object a persistent id (BINPERSID) stands for; throw to refuse it. */
  persistentLoad(pid: unknown): unknown;
  /** Explains a refused global in the error, e.g. how to save a file that needs no such global. */
  refusedGlobalHint?: (qualifiedName: string) => string;
}

// Pickle opcodes this reader executes: those that a torch.save(state_dict) pickle uses (protocol 2),
// plus a few harmless ones of protocols 3-4 (framing, short strings, memoize, stack global).
const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  EMPTY_TUPLE: 0x29,
  BINFLOAT: 0x47,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  NONE: 0x4e,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  APPENDS: 0x65,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_DICT: 0x7d,
  PROTO: 0x80,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  SHORT_BINUNICODE: 0x8c,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

// Names of the opcodes this reader refuses, so that the error says which one it met.
const REFUSED_OPCODES: Record<number, string> = {
  48: 'POP',
  49: 'POP_MARK',
  50: 'DUP',
  70: 'FLOAT',
  73: 'INT',
  76: 'LONG',
  80: 'PERSID',
  83: 'STRING',
  84: 'BINSTRING',
  85: 'SHORT_BINSTRING',
  86: 'UNICODE',
  100: 'DICT',
  103: 'GET',
  105: 'INST',
  108: 'LIST',
  111: 'OBJ',
  112: 'PUT',
  129: 'NEWOBJ',
  130: 'EXT1',
  131: 'EXT2',
  132: 'EXT4',
  139: 'LONG4',
  66: 'BINBYTES',
  67: 'SHORT_BINBYTES',
  141: 'BINUNICODE8',
  142: 'BINBYTES8',
  143: 'EMPTY_SET',
  144: 'ADDITEMS',
  145: 'FROZENSET',
  146: 'NEWOBJ_EX',
  150: 'BYTEARRAY8',
  151: 'NEXT_BUFFER',
  152: 'READONLY_BUFFER',
};

/**
 * Reads a pickle without executing anything from it: a small stack machine that knows the opcodes a
 * PyTorch state_dict needs. Dicts become `Map`s, tuples and lists arrays, ints and floats numbers,
 * None null. GLOBAL names are looked up through `options.resolveGlobal`; REDUCE calls only the
 * {@link PickleCallable}s found there. Any other opcode or global is refused with an error naming it.
 * Sizes are capped by {@link PYTORCH_READ_LIMITS} (bytes, opcodes, memo entries, string lengths, nesting)
 * before anything they bound is allocated, and nothing here recurses, so no pickle overflows the stack.
 * @throws {@link PyTorchFormatError}
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const limits = PYTORCH_READ_LIMITS;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;
  let ops = 0;

  const fail = (message: string): never => {
    throw new PyTorchFormatError(`pickle (data.pkl), byte ${at}: ${message}`);
  };
  if (bytes.length > limits.pickleBytes) {
    fail(
      `the pickle has ${bytes.length} bytes, more than the ${limits.pickleBytes} this reader accepts; ` +
        'a state_dict pickle needs about 100 per tensor',
    );
  }
  const need = (length: number) => {
    if (at + length > bytes.length)
      fail('the pickle ends in the middle of an instruction (the file is truncated)');
  };
  const u8 = () => {
    need(1);
    return bytes[at++]!;
  };
  const u16 = () => {
    need(2);
    at += 2;
    return view.getUint16(at - 2, true);
  };
  const u32 = () => {
    need(4);
    at += 4;
    return view.getUint32(at - 4, true);
  };
  const text = (length: number) => {
    if (length > limits.pickleStringBytes) {
      fail(`a string of ${length} bytes is longer than the ${limits.pickleStringBytes} this reader accepts`);
    }
    need(length);
    at += length;
    try {
      return decoder.decode(bytes.subarray(at - length, at));
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = () => {
    // Looks for the end of line only as far as a name may reach, so that a long line costs nothing.
    const end = bytes.subarray(at, at + limits.pickleGlobalNameBytes + 1).indexOf(0x0a);
    if (end < 0) {
      fail(
        at + limits.pickleGlobalNameBytes < bytes.length
          ? `a GLOBAL name is longer than ${limits.pickleGlobalNameBytes} bytes`
          : 'a GLOBAL name has no end of line (the file is truncated)',
      );
    }
    return text(end + 1).slice(0, -1);
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) {
      fail('the pickle pops from an empty stack (it is malformed)');
    }
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) fail('the pickle reads an empty stack (it is malformed)');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const mark = marks.pop();
    if (mark === undefined) fail('the pickle closes a MARK it never opened (it is malformed)');
    return stack.splice(mark!);
  };
  const memoPut = (key: number, value: unknown) => {
    if (memo.size >= limits.pickleMemoEntries && !memo.has(key)) {
      fail(`the pickle memoizes more than ${limits.pickleMemoEntries} values`);
    }
    memo.set(key, value);
  };
  const memoGet = (key: number) => {
    if (!memo.has(key))
      fail(`the pickle refers to memo entry ${key}, which was never stored (it is malformed)`);
    return memo.get(key);
  };

  // Nesting is capped as values are built, so that nothing that reads them later (an error message
  // included) meets an arbitrarily deep value. Python's pickler fills a list or dict while it is alone on the
  // stack, before it goes inside another container; a container is refused more items once it is inside
  // another. So every value's depth is known when it is built, and no value can contain itself.
  const depths = new WeakMap<object, number>();
  const nested = new WeakSet<object>();
  const depthOf = (value: unknown) =>
    typeof value === 'object' && value !== null ? (depths.get(value) ?? 0) : 0;
  /** Records that `items` now lie inside `container` (a tuple, list or dict), refusing too deep a value. */
  const nest = <T extends object>(container: T, items: readonly unknown[]): T => {
    let depth = depthOf(container);
    for (const item of items) {
      if (item === container) fail('a list or dict contains itself, which a state_dict never does');
      depth = Math.max(depth, 1 + depthOf(item));
      if (typeof item === 'object' && item !== null) nested.add(item);
    }
    if (depth > limits.pickleNesting) {
      fail(`values nest more than ${limits.pickleNesting} deep; a state_dict nests only a few levels`);
    }
    depths.set(container, Math.max(depth, 1));
    return container;
  };
  const tuple = (items: unknown[]) => nest(Object.freeze(items), items);
  const fillable = <T extends object>(container: T): T => {
    if (nested.has(container)) {
      fail('the pickle adds items to a list or dict that is already inside another, which pickle never does');
    }
    return container;
  };
  const asMap = (value: unknown): Map<unknown, unknown> =>
    value instanceof Map ? fillable(value) : fail('SETITEM(S) on something that is not a dict');
  const asList = (value: unknown): unknown[] =>
    Array.isArray(value) && !Object.isFrozen(value)
      ? fillable(value)
      : fail('APPEND(S) on something that is not a list');
  const global = (qualifiedName: string) => {
    const value = options.resolveGlobal(qualifiedName);
    if (value === undefined) {
      const hint = options.refusedGlobalHint?.(qualifiedName) ?? '';
      fail(
        `refusing the global ${quoteName(qualifiedName)}: only what a state_dict of tensors needs is allowed. ${hint}`.trim(),
      );
    }
    return value;
  };

  for (;;) {
    if (++ops > limits.pickleOps) fail(`the pickle runs more than ${limits.pickleOps} instructions`);
    const opcodeAt = at;
    const opcode = u8();
    switch (opcode) {
      case OP.PROTO:
        if (u8() > 5) fail('the pickle protocol is newer than 5');
        break;
      case OP.FRAME:
        need(8);
        at += 8;
        break;
      case OP.STOP: {
        const result = pop();
        if (stack.length > 0 || marks.length > 0)
          fail('the pickle stops with values left over (it is malformed)');
        return result;
      }
      case OP.MARK:
        marks.push(stack.length);
        break;
      case OP.EMPTY_DICT:
        stack.push(nest(new Map(), []));
        break;
      case OP.EMPTY_LIST:
        stack.push(nest([], []));
        break;
      case OP.EMPTY_TUPLE:
        stack.push(tuple([]));
        break;
      case OP.TUPLE:
        stack.push(tuple(popMark()));
        break;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const items = Array.from({ length: opcode - OP.TUPLE1 + 1 }, () => pop()).reverse();
        stack.push(tuple(items));
        break;
      }
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(u16());
        break;
      case OP.BININT:
        stack.push(u32() | 0);
        break;
      case OP.LONG1: {
        const length = u8();
        if (length > 6) fail(`an integer of ${length} bytes is too large for a state_dict`);
        need(length);
        let value = 0;
        for (let i = 0; i < length; i++) value += bytes[at + i]! * 2 ** (8 * i);
        if (length > 0 && bytes[at + length - 1]! & 0x80) value -= 2 ** (8 * length);
        at += length;
        stack.push(value);
        break;
      }
      case OP.BINFLOAT:
        need(8);
        at += 8;
        stack.push(view.getFloat64(at - 8, false));
        break;
      case OP.BINUNICODE:
        stack.push(text(u32()));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(u8()));
        break;
      case OP.BINPUT:
        memoPut(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memoPut(u32(), top());
        break;
      case OP.MEMOIZE:
        memoPut(memo.size, top());
        break;
      case OP.BINGET:
        stack.push(memoGet(u8()));
        break;
      case OP.LONG_BINGET:
        stack.push(memoGet(u32()));
        break;
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(global(`${module}.${name}`));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL without two names');
        stack.push(global(`${module}.${name}`));
        break;
      }
      case OP.BINPERSID:
        stack.push(options.persistentLoad(pop()));
        break;
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        if (!isCallable(callable)) fail('REDUCE calls something that is not an allowed function');
        if (!Array.isArray(args))
          fail(
            `REDUCE passes ${describe(args)} as the arguments of ${(callable as PickleCallable).qualifiedName}`,
          );
        stack.push((callable as PickleCallable).call(args as unknown[]));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const target = top();
        // torch.save(state_dict) ends with BUILD(OrderedDict, {'_metadata': ...}): the module
        // versions, which LeNet-5 does not need. Any other BUILD would set attributes: refused.
        if (!(target instanceof Map) || !(state instanceof Map || state === null)) {
          fail(`BUILD sets the state of ${describe(target)}, which a state_dict never does`);
        }
        break;
      }
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        const dict = asMap(top());
        nest(dict, [key, value]).set(key, value);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of values');
        const dict = nest(asMap(top()), items);
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case OP.APPEND: {
        const value = pop();
        nest(asList(top()), [value]).push(value);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const list = nest(asList(top()), items);
        // One push per item: spreading a long list into push() would overflow the call stack.
        for (const item of items) list.push(item);
        break;
      }
      default: {
        at = opcodeAt;
        const name = REFUSED_OPCODES[opcode];
        fail(
          `opcode 0x${opcode.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''} is not one that a ` +
            'torch.save(state_dict) pickle uses; refusing to read further. Save model.state_dict() with torch.save(), or use .safetensors',
        );
      }
    }
  }
}

function isCallable(value: unknown): value is PickleCallable {
  return typeof value === 'object' && value !== null && typeof (value as PickleCallable).call === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return 'a tuple or list';
  if (isCallable(value)) return `the function ${value.qualifiedName}`;
  return typeof value;
}
