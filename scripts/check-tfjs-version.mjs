#!/usr/bin/env node
// One tfjs version across the workspace. tfjs keeps its engine and kernel registry on globalThis, so two versions
// in one app register kernels into each other's engine and fail in odd ways. Every @tensorflow/tfjs* entry in every
// package.json must name the same version (peer ranges must admit it) and the lockfile must resolve no other.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TFJS = /^@tensorflow\/tfjs(-[a-z-]+)?$/;
const expected = JSON.parse(readFileSync(join(root, 'packages/ops/package.json'), 'utf8')).devDependencies[
  '@tensorflow/tfjs-core'
];
const problems = [];

const manifests = ['package.json'];
for (const group of ['packages', 'apps']) {
  for (const dir of readdirSync(join(root, group))) manifests.push(`${group}/${dir}/package.json`);
}
for (const file of manifests) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(root, file), 'utf8'));
  } catch {
    continue; // a folder without a package.json is no package
  }
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
    for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
      if (!TFJS.test(name)) continue;
      // Peers are ranges for users ("^4.22.0"); everything the workspace installs is pinned exactly.
      const ok = field === 'peerDependencies' ? spec === `^${expected}` : spec === expected;
      if (!ok)
        problems.push(
          `${file}: ${field}.${name} is "${spec}", expected "${field === 'peerDependencies' ? '^' : ''}${expected}"`,
        );
    }
  }
}

// Lockfile package keys look like "  '@tensorflow/tfjs-core@4.22.0':" or "  '@tensorflow/tfjs-core@4.22.0(peer@x)':".
const lock = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8');
for (const [, name, version] of lock.matchAll(/^ {2}'?(@tensorflow\/tfjs(?:-[a-z-]+)?)@([^('":]+)/gm)) {
  if (version !== expected) problems.push(`pnpm-lock.yaml resolves ${name}@${version}, expected ${expected}`);
}

if (problems.length > 0) {
  console.error(`tfjs versions differ (all must be ${expected}):\n  ${problems.join('\n  ')}`);
  console.error('Pin every @tensorflow/tfjs* dependency to the same version, then run `pnpm install`.');
  process.exit(1);
}
console.log(
  `tfjs: every @tensorflow/tfjs* package is ${expected} (${manifests.length} package.json files and the lockfile)`,
);
