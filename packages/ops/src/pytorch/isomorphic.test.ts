import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// The browser demo imports these readers: they must not reach for Node's modules or globals.
it('the PyTorch readers and writers use no Node-only module or global', () => {
  const folder = fileURLToPath(new URL('.', import.meta.url));
  const sources = readdirSync(folder).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
  expect(sources).toContain('torch-checkpoint.ts');
  for (const name of sources) {
    const text = readFileSync(`${folder}/${name}`, 'utf8');
    expect(text, name).not.toMatch(/from ['"](node:|fs|path|zlib|buffer)/);
    expect(text, name).not.toMatch(/\b(Buffer|process|require)\b/);
  }
});
