// `pnpm --filter demo bench` (after bench.mjs): LeNet-5 training and inference images/s in headless Debian
// Chromium on every backend the page can use (webgpu, wasm on 1 thread and over N Web Workers, webgl, cpu), and
// Node's wasm in the same run, with the ratio of each figure to Node's wasm on 1 thread. The browser side is
// test/training-page/ (built from the packages' sources, as the tests build it), a fresh Chromium per backend,
// measured the way apps/bench/src/measure.ts measures Node; the Node side is apps/bench itself
// (`bench.js --backends wasm`, built by turbo first). Everything runs one after the other, never at once, so
// nothing shares the cores. Asserts nothing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { runnerImport } from 'vite';

const BACKENDS = ['webgpu', 'wasm', 'webgl', 'cpu'];

const HELP = `Usage: pnpm --filter demo bench [-- options]

Training images/s at batch 64 and 256 and inference images/s at batch 1000 in headless Chromium on each backend
the page can use (webgpu on SwiftShader, wasm on 1 thread and over navigator.hardwareConcurrency Web Workers,
webgl, cpu), and Node's wasm in the same run, with the ratio of each figure to Node's wasm on 1 thread. Each
figure is the median of --runs timed runs after a warm-up, as in apps/bench. A backend whose first timed step
says the full plan would take more than --budget seconds (a software GPU adapter, say) gets one run of 3 timed
steps per figure instead (fewer if the budget runs out).

Options:
  --backends LIST  comma-separated, of ${BACKENDS.join(',')}          [all]
  --runs N         timed runs per figure                       [5]
  --steps N        training steps per timed run (half at 256)  [30]
  --budget S       seconds each backend may take, roughly      [40]
  --quick          1 run of 3 steps (proves the bench works; the numbers mean little)
`;

const exec = promisify(execFile);
const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(APP, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
/** Above this, browser training is at the issue's goal: half of Node's speed or better. */
const GOAL = 0.5;
/** Timed steps per figure on a backend too slow for the full plan. */
const SHORT_STEPS = 3;

const { values } = parseArgs({
  // pnpm 10 hands the '--' of `pnpm --filter demo bench -- --quick` on to the script.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    backends: { type: 'string' },
    runs: { type: 'string' },
    steps: { type: 'string' },
    budget: { type: 'string' },
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
const budgetSeconds = Number(values.budget ?? 40);
const backends = values.backends?.split(',').map((name) => name.trim()) ?? BACKENDS;
for (const [flag, value] of Object.entries({ runs, steps, budget: budgetSeconds })) {
  if (!(Number.isInteger(value) && value >= 1)) {
    console.error(`--${flag} must be a positive integer (got ${values[flag]}).`);
    process.exit(2);
  }
}
const unknown = backends.filter((name) => !BACKENDS.includes(name));
if (unknown.length > 0 || backends.length === 0) {
  console.error(
    `--backends: unknown ${unknown.join(', ') || 'empty list'}; use some of ${BACKENDS.join(',')}.`,
  );
  process.exit(2);
}

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

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(0)} s`;

/**
 * The training page in a fresh Chromium per backend (with --enable-unsafe-webgpu for webgpu only): the
 * browser's setup, then each backend's figures (wasm twice: on the page's thread, and over Web Workers), or
 * why it could not start or failed.
 */
async function measureChromium() {
  // The page's helpers are TypeScript that imports the packages' sources: vite's module runner loads them.
  const { module: site } = await runnerImport(join(APP, 'test', 'training-site.ts'), {
    configFile: false,
    logLevel: 'warn',
    resolve: { conditions: ['@lenet/source', 'node', 'import', 'default'] },
    ssr: { resolve: { conditions: ['@lenet/source'], externalConditions: ['@lenet/source'] } },
  });
  const built = await site.buildTrainingSite();
  const rows = [];
  let browser;
  let wasmSetup;
  try {
    for (const backend of backends) {
      const opened = await site.openTrainingPage(built.dir, {
        isolated: false,
        webgpu: backend === 'webgpu',
      });
      try {
        const { page } = opened;
        if (browser === undefined) {
          const cdp = await page.context().newCDPSession(page);
          const { product } = await cdp.send('Browser.getVersion');
          browser = await page.evaluate(
            (product) => ({
              product,
              userAgent: navigator.userAgent,
              hardwareConcurrency: navigator.hardwareConcurrency,
            }),
            product,
          );
        }
        if (backend === 'wasm') wasmSetup = await page.evaluate(() => window.lenetTraining.setup());
        const workerCounts = backend === 'wasm' ? [0, browser.hardwareConcurrency] : [0];
        for (const workers of workerCounts) {
          const started = performance.now();
          const label = workers > 0 ? `${backend} over ${plural(workers, 'Web Worker')}` : backend;
          process.stderr.write(`  Chromium ${label}: measuring...`);
          const row = await page
            .evaluate((options) => window.lenetTraining.bench(options), {
              backend,
              steps,
              runs,
              workers,
              budgetSeconds,
              shortSteps: SHORT_STEPS,
            })
            .catch((error) => ({ backend, workers, failed: error.message.split('\n')[0] }));
          if (opened.errors.length > 0 && !row.failed && !row.unavailable)
            row.failed = `the training page failed: ${opened.errors.join('; ')}`;
          process.stderr.write(` ${seconds(started)}\n`);
          rows.push(row);
        }
      } finally {
        await opened.close();
      }
    }
  } finally {
    await built.remove();
  }
  return { browser, wasmSetup, rows };
}

const fmt = (n) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const plural = (n, what) => `${n} ${what}${n === 1 ? '' : what.endsWith('s') ? 'es' : 's'}`;
const ratio = (a, b) => (a !== undefined && b !== undefined ? (a / b).toFixed(2) : '-');

/** The last line of a failed command's output (turbo and tsc put the cause there), or the error's message. */
function whyFailed(error) {
  const output = `${error.stdout ?? ''}\n${error.stderr ?? ''}`.trim();
  const lines = output.split('\n').filter((line) => /error/i.test(line));
  return lines[0]?.trim() ?? error.message;
}

const began = performance.now();
const chromium = await measureChromium();
process.stderr.write('  Node wasm (apps/bench): measuring...');
const nodeStarted = performance.now();
// Where Node cannot be measured (say, a package fails to build), the Chromium figures still print, with why.
const node = await measureNode().catch((error) => {
  process.exitCode = 1;
  return { failed: whyFailed(error), trainImagesPerSecond: {} };
});
process.stderr.write(` ${seconds(nodeStarted)}\n`);

const { browser, wasmSetup, rows } = chromium;
console.log(
  `\nLeNet-5 training and inference, images/s (median of ${plural(runs, 'run')} after a warm-up; training: ` +
    `${steps} steps at batch 64, ${Math.max(2, Math.round(steps / 2))} at 256, loss read back every step; ` +
    `a backend whose first timed step says that would take over ${budgetSeconds} s: 1 run of up to ` +
    `${SHORT_STEPS} steps)`,
);
console.log(
  `  Chromium: ${browser.product} (${CHROMIUM}, headless, a fresh browser per backend, --enable-unsafe-webgpu ` +
    `for webgpu only), navigator.hardwareConcurrency ${browser.hardwareConcurrency}`,
);
console.log(`            userAgent ${browser.userAgent}`);
if (wasmSetup)
  console.log(
    `            wasm: tfjs ${wasmSetup.sharedHeap ? 'threaded' : 'single-threaded'} build with ` +
      `${plural(wasmSetup.wasmThreads, 'thread')}, WebAssembly SIMD ${wasmSetup.wasmSimdSupported ? 'yes' : 'no'}, ` +
      `our SIMD and fused kernels ${wasmSetup.simdSkipped ? `skipped (${wasmSetup.simdSkipped})` : 'on'}, ` +
      `cross-origin isolated ${wasmSetup.crossOriginIsolated ? 'yes' : 'no'}; data-parallel: ` +
      `${plural(browser.hardwareConcurrency, 'Web Worker')}, each on that setup`,
  );
console.log(
  node.failed
    ? `  Node:     not measured: ${node.failed}`
    : `  Node:     ${process.version}, backend ${node.backend} (${node.device}), os.availableParallelism() ` +
        `${availableParallelism()}; data-parallel: ` +
        `${node.workers ? plural(node.workers, 'worker thread') : 'none (one core)'}`,
);

const reference = {
  64: node.trainImagesPerSecond['64'],
  256: node.trainImagesPerSecond['256'],
  infer: node.inferImagesPerSecond,
};
const line = (where, backend, workers, b64, b256, infer) => [
  where,
  backend,
  workers,
  fmt(b64),
  ratio(b64, reference[64]),
  fmt(b256),
  ratio(b256, reference[256]),
  fmt(infer),
  ratio(infer, reference.infer),
];
const table = [
  ['', 'backend', 'workers', 'train b64', 'x Node', 'train b256', 'x Node', 'infer b1000', 'x Node'],
];
const notes = [];
for (const row of rows) {
  const workers = row.workers > 0 ? plural(row.workers, 'Web Worker') : '-';
  const name = `${row.backend}${row.software ? ' *' : ''}`;
  if (row.unavailable || row.failed) {
    table.push(['Chromium', name, workers, '-', '-', '-', '-', '-', '-']);
    notes.push([
      `${row.backend}${row.workers ? ` (${workers})` : ''}: ${row.unavailable ? 'cannot start' : 'failed'}: ` +
        `${row.unavailable ?? row.failed}`,
    ]);
    continue;
  }
  const { trainImagesPerSecond: train, inferImagesPerSecond: infer, plans } = row;
  table.push(line('Chromium', name, workers, train['64'], train['256'], infer));
  const planOf = (key, unit) => {
    const plan = plans[key];
    if (!plan) return undefined;
    const runsOf = plan.runs === 1 ? '' : `median of ${plan.runs} runs of `;
    return `${runsOf}${plural(plan.steps, unit)}${plan.warmUp ? '' : ' (too slow for a warm-up: setup costs included)'}`;
  };
  const plan = row.shortened
    ? `cut short (its first timed step at batch 64 took ${row.firstStepSeconds.toFixed(1)} s): ` +
      [
        ['b64', planOf('64', 'step')],
        ['b256', planOf('256', 'step')],
        ['infer', planOf('infer', 'pass')],
      ]
        .filter(([, text]) => text)
        .map(([what, text]) => `${what} ${text}`)
        .join(', ')
    : '';
  notes.push(
    [
      `${name}${row.workers ? ` (${workers})` : ''}: ${row.device}; ${row.seconds.toFixed(0)} s`,
      row.software &&
        `* ${row.software}: its figures measure the CPU running it, and say little about ${row.backend} on a real GPU`,
      plan,
    ].filter(Boolean),
  );
}
if (!node.failed) {
  table.push(
    line(
      'Node',
      node.backend,
      '-',
      node.trainImagesPerSecond['64'],
      node.trainImagesPerSecond['256'],
      node.inferImagesPerSecond,
    ),
  );
  if (node.parallelTrainImagesPerSecond)
    table.push(
      line(
        'Node',
        node.backend,
        plural(node.workers, 'worker thread'),
        node.parallelTrainImagesPerSecond['64'],
        node.parallelTrainImagesPerSecond['256'],
        undefined,
      ),
    );
}
const widths = table[0].map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
console.log();
for (const row of table)
  console.log(
    `  ${row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}`,
  );
console.log(
  `  x Node: the figure over Node's wasm on 1 thread (its row above, measured in this run); '-' where there is none`,
);
console.log("  workers '-': on the page's (or Node's) own thread; * a software adapter (see below)");
console.log();
for (const [first, ...more] of notes) {
  console.log(`  ${first}`);
  for (const text of more) console.log(`      ${text}`);
}

// The issue's goal compares like with like: 1 thread with 1 thread, N Web Workers with N worker threads.
const wasm = rows.find((row) => row.backend === 'wasm' && row.workers === 0 && row.trainImagesPerSecond);
const wasmWorkers = rows.find((row) => row.backend === 'wasm' && row.workers > 0 && row.trainImagesPerSecond);
if (!node.failed && wasm) {
  const parallel = node.parallelTrainImagesPerSecond;
  const pairs = [
    ['b64 1 thread', wasm.trainImagesPerSecond['64'], node.trainImagesPerSecond['64']],
    ['b256 1 thread', wasm.trainImagesPerSecond['256'], node.trainImagesPerSecond['256']],
    ['infer b1000', wasm.inferImagesPerSecond, node.inferImagesPerSecond],
    ...(wasmWorkers && parallel
      ? [
          [`b64 ${wasmWorkers.workers} workers`, wasmWorkers.trainImagesPerSecond['64'], parallel['64']],
          [`b256 ${wasmWorkers.workers} workers`, wasmWorkers.trainImagesPerSecond['256'], parallel['256']],
        ]
      : []),
  ];
  console.log(
    `\n  goal (the issue): Chromium's wasm at ${GOAL}x of Node's wasm or better, like for like: ` +
      pairs.map(([what, a, b]) => `${what}: ${ratio(a, b)}`).join(', '),
  );
  if (wasmWorkers && wasmWorkers.workers !== node.workers)
    console.log(
      `  note: Chromium's Web Workers (${wasmWorkers.workers}) and Node's worker threads (${node.workers ?? 0}) ` +
        'differ in number',
    );
}
console.log(`  the whole bench: ${seconds(began)}`);
