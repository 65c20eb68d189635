import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every module reachable from `entry` through relative imports, and every bare specifier they import. */
function importGraph(entry: string): { files: string[]; specifiers: string[] } {
  const files: string[] = [];
  const specifiers = new Set<string>();
  const visit = (file: string) => {
    if (files.includes(file)) return;
    files.push(file);
    const source = readFileSync(file, 'utf8');
    for (const [, spec] of source.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)) {
      if (!spec) continue;
      if (spec.startsWith('.')) visit(join(dirname(file), spec.endsWith('.json') ? spec : `${spec}.ts`));
      else specifiers.add(spec);
    }
  };
  visit(entry);
  return { files, specifiers: [...specifiers] };
}

describe('the main entry point runs in browsers', () => {
  it('imports no Node built-ins and nothing from src/node', () => {
    const { files, specifiers } = importGraph(join(SRC, 'index.ts'));
    expect(files.length).toBeGreaterThan(8);
    expect(files.filter((f) => f.includes(`${join(SRC, 'node')}`))).toEqual([]);
    expect(specifiers.sort()).toEqual(['@tensorflow/tfjs-core']);
  });
});
