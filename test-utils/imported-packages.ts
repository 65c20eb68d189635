import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Every bare specifier imported by the modules reachable from `entry` through relative imports:
 * what a bundler would pull in. Type-only imports count too, which errs on the strict side.
 */
export function importedPackages(entry: string): string[] {
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
