// Node module hooks that let worker threads started by tests run this package's TypeScript source:
// a relative import without an extension, or a `.js` file that exists only as its `.ts` source (a
// worker module, which the build puts next to index.js), resolves to the `.ts` file, which TypeScript
// transpiles on load. Other workspace packages resolve to their build (dist), as for any user. Tests only.
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const source = typeScriptSource(specifier, context.parentURL);
    if (source === undefined) throw error;
    return nextResolve(source, context);
  }
}

/** The `.ts` file a specifier that did not resolve stands for, if any. */
function typeScriptSource(specifier, parentURL) {
  const local = specifier.startsWith('.') || specifier.startsWith('file:');
  if (local && specifier.endsWith('.js')) return `${specifier.slice(0, -'.js'.length)}.ts`;
  if (parentURL?.endsWith('.ts') && specifier.startsWith('.')) return `${specifier}.ts`;
  return undefined;
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts')) return nextLoad(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
