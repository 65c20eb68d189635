import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every bare specifier imported by the modules reachable from `entry` through relative imports. */
function importedPackages(entry: string): string[] {
  const seen = new Set<string>();
  const specifiers = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const [, from, dynamic] of source.matchAll(
      /(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g,
    )) {
      const spec = from ?? dynamic!;
      if (spec.startsWith('.')) visit(join(dirname(file), `${spec}.ts`));
      else specifiers.add(spec);
    }
  };
  visit(entry);
  return [...specifiers].sort();
}

describe('@lenet/web runs in browsers', () => {
  it('imports no Node built-ins, only tfjs and the browser-safe workspace packages', () => {
    expect(importedPackages(join(SRC, 'index.ts'))).toEqual([
      '@lenet/data',
      '@lenet/ops',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-core',
    ]);
  });
});
