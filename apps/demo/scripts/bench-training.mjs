// `pnpm --filter demo bench` (after bench.mjs): LeNet-5 training and inference images/s on the wasm backend in
// headless Debian Chromium and in Node, in one run, and the ratio Chromium/Node for each figure. The browser side
// is test/training-page/ (built from the packages' sources, as the tests build it) measured the way
// apps/bench/src/measure.ts measures Node; the Node side is apps/bench itself (`bench.js --backends wasm`, built
// by turbo first). Both run one after the other, never at once, so they do not share the cores. Asserts nothing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { runnerImport } from 'vite';

const HELP = `Usage: pnpm --filter demo bench [-- options]

Training images/s at batch 64 and 256 (1 thread, and data-parallel over workers where there is a transport) and
inference images/s at batch 1000, on the wasm backend in headless Chromium and in Node; each figure is the median
of --runs timed runs after a warm-up, as in apps/bench.

Options:
  --runs N    timed runs per figure                       [5]
  --steps N   training steps per timed run (half at 256)  [30]
  --quick     1 run of 3 steps (proves the bench works; the numbers mean little)
`;

const exec = promisify(execFile);
const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(APP, '..', '..');
/** Above this, browser training is at the issue's goal: half of Node's speed or better. */
const GOAL = 0.5;

const { values } = parseArgs({
  // pnpm 10 hands the '--' of `pnpm --filter demo bench -- --quick` on to the script.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    runs: { type: 'string' },
    steps: { type: 'string' },
    quick: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const runs = values.quick ? 1 : Number(values.runs ?? 5);
const steps = values.quick ? 3 : Number(values.steps ?? 30);

/** apps/bench on the wasm backend, in processes of its own (it measures each backend in a child). */
async function measureNode() {
  await exec(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@lenet/bench...', '--output-logs=errors-only'],
    {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    },
  );
  const scratch = await mkdtemp(join(tmpdir(), 'lenet-bench-node-'));
  try {
    const json = join(scratch, 'bench.json');
    const args = ['--backends', 'wasm', '--runs', String(runs), '--steps', String(steps), '--json', json];
    await exec(process.execPath, [join(ROOT, 'apps', 'bench', 'dist', 'bench.js'), ...args], {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    });
    const { results, skipped } = JSON.parse(await readFile(json, 'utf8'));
    if (results.length === 0)
      throw new Error(`apps/bench skipped wasm: ${skipped[0]?.reason ?? 'no reason given'}`);
    return results[0];
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The training page in Chromium: setup, then the same figures as apps/bench measures. */
async function measureChromium() {
  // The page's helpers are TypeScript that imports the packages' sources: vite's module runner loads them.
  const { module: site } = await runnerImport(join(APP, 'test', 'training-site.ts'), {
    configFile: false,
    logLevel: 'warn',
    resolve: { conditions: ['@lenet/source', 'node', 'import', 'default'] },
    ssr: { resolve: { conditions: ['@lenet/source'], externalConditions: ['@lenet/source'] } },
  });
  const built = await site.buildTrainingSite();
  try {
    const opened = await site.openTrainingPage(built.dir, { isolated: false });
    try {
      const { page } = opened;
      const cdp = await page.context().newCDPSession(page);
      const { product } = await cdp.send('Browser.getVersion');
      const setup = await page.evaluate(() => window.lenetTraining.setup());
      const workers = setup.hardwareConcurrency;
      const figures = await page.evaluate((options) => window.lenetTraining.bench(options), {
        runs,
        steps,
        workers,
      });
      if (opened.errors.length > 0) throw new Error(`the training page failed: ${opened.errors.join('; ')}`);
      return { product, setup, workers, figures };
    } finally {
      await opened.close();
    }
  } finally {
    await built.remove();
  }
}

const fmt = (n) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const plural = (n, what) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The last line of a failed command's output (turbo and tsc put the cause there), or the error's message. */
function whyFailed(error) {
  const output = `${error.stdout ?? ''}\n${error.stderr ?? ''}`.trim();
  const lines = output.split('\n').filter((line) => /error/i.test(line));
  return lines[0]?.trim() ?? error.message;
}

const chromium = await measureChromium();
// Where Node cannot be measured (say, a package fails to build), the Chromium figures still print, with why.
const node = await measureNode().catch((error) => {
  process.exitCode = 1;
  return { failed: whyFailed(error), trainImagesPerSecond: {} };
});

const { setup, figures } = chromium;
console.log(
  `\nwasm training and inference, images/s (median of ${plural(runs, 'run')}; training: ${steps} steps at ` +
    `batch 64, ${Math.max(2, Math.round(steps / 2))} at 256, loss read back every step)`,
);
console.log(
  `  Chromium: ${chromium.product} (${'/usr/bin/chromium'}, headless), backend ${setup.backend}, ` +
    `tfjs wasm ${setup.sharedHeap ? 'threaded' : 'single-threaded'} build with ${plural(setup.wasmThreads, 'thread')}, ` +
    `WebAssembly SIMD ${setup.wasmSimdSupported ? 'yes' : 'no'}, our SIMD and fused kernels ` +
    `${setup.simdSkipped ? `skipped (${setup.simdSkipped})` : 'on'}, ` +
    `cross-origin isolated ${setup.crossOriginIsolated ? 'yes' : 'no'}, navigator.hardwareConcurrency ` +
    `${setup.hardwareConcurrency}; data-parallel: ${plural(chromium.workers, 'Web Worker')} on the same setup`,
);
console.log(
  node.failed
    ? `  Node:     not measured: ${node.failed}`
    : `  Node:     ${process.version}, backend ${node.backend} (${node.device}); data-parallel: ` +
        `${node.workers ? plural(node.workers, 'worker thread') : 'none (one core)'}`,
);

const rows = [
  ['figure', 'Chromium', 'Node', 'Chromium/Node'],
  ...[
    ['train b64, 1 thread', figures.trainImagesPerSecond['64'], node.trainImagesPerSecond['64']],
    ['train b256, 1 thread', figures.trainImagesPerSecond['256'], node.trainImagesPerSecond['256']],
    [
      `train b64, ${plural(chromium.workers, 'worker')}`,
      figures.parallelTrainImagesPerSecond?.['64'],
      node.parallelTrainImagesPerSecond?.['64'],
    ],
    [
      `train b256, ${plural(chromium.workers, 'worker')}`,
      figures.parallelTrainImagesPerSecond?.['256'],
      node.parallelTrainImagesPerSecond?.['256'],
    ],
    ['infer b1000, 1 thread', figures.inferImagesPerSecond, node.inferImagesPerSecond],
  ].map(([figure, browser, ours]) => [
    figure,
    fmt(browser),
    fmt(ours),
    browser !== undefined && ours !== undefined ? (browser / ours).toFixed(2) : '-',
  ]),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
for (const row of rows)
  console.log(
    `  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`,
  );
console.log(`  goal (the issue): Chromium at ${GOAL}x of Node or better on every figure`);
if (!node.failed && chromium.workers !== node.workers)
  console.log(
    `  note: Chromium's workers (${chromium.workers}) and Node's (${node.workers ?? 0}) differ in number`,
  );
