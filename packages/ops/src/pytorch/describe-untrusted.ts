// Names and values from an untrusted file, shown in an error message: bounded in length and depth, on one line.

/** Most characters of one name that a message shows. */
const MAX_NAME_SHOWN = 80;
/** Most characters of one value that a message shows. */
const MAX_VALUE_SHOWN = 120;
/** Most items of one list or dict that a message shows. */
const ITEMS_SHOWN = 6;

/**
 * A name from the file (a tensor, zip entry or global name), quoted for a one-line message: `'conv1.weight'`.
 * Control characters are escaped and a long name is cut, so that a hostile name can neither flood nor split
 * the message.
 */
export function quoteName(name: string): string {
  const cut = name.length > MAX_NAME_SHOWN;
  let escaped = '';
  for (const char of cut ? name.slice(0, MAX_NAME_SHOWN) : name) {
    const code = char.codePointAt(0)!;
    const isControl = code < 0x20 || (code >= 0x7f && code < 0xa0) || code === 0x2028 || code === 0x2029;
    escaped += isControl ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return cut ? `'${escaped}...' (${name.length} characters)` : `'${escaped}'`;
}

/**
 * A value that a pickle or a JSON header holds, in Python-like notation (lists and tuples as `[...]`), for a
 * one-line message. Looks at most
 * three levels deep and at a few items per level, never walking the whole value (unlike `JSON.stringify`,
 * which recurses through all of it): a deeply nested, huge or cyclic value costs no more than a small one.
 */
export function describeUntrusted(value: unknown): string {
  const text = show(value, 3);
  return text.length > MAX_VALUE_SHOWN ? `${text.slice(0, MAX_VALUE_SHOWN)}...` : text;
}

function show(value: unknown, depth: number): string {
  if (value === undefined) return '(missing)';
  if (value === null) return 'None';
  if (typeof value === 'string') return quoteName(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object') return typeof value;
  if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
  if (depth === 0) return '...';
  const shown: string[] = [];
  let more = false;
  const add = (text: () => string) => {
    if (shown.length < ITEMS_SHOWN) shown.push(text());
    else more = true;
    return !more;
  };
  if (Array.isArray(value)) {
    for (const item of value.slice(0, ITEMS_SHOWN + 1)) if (!add(() => show(item, depth - 1))) break;
    return `[${shown.join(', ')}${more ? `, ... (${value.length} items)` : ''}]`;
  }
  if (value instanceof Map) {
    for (const [key, item] of value)
      if (!add(() => `${show(key, depth - 1)}: ${show(item, depth - 1)}`)) break;
    return `{${shown.join(', ')}${more ? `, ... (${value.size} items)` : ''}}`;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (!add(() => `${quoteName(key)}: ${show(item, depth - 1)}`)) break;
  }
  return `{${shown.join(', ')}${more ? ', ...' : ''}}`;
}
