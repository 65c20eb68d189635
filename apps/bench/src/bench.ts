import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { embeddedMnistDirectory } from '@lenet/data/node';
import { listBackends, type NodeBackendName } from '@lenet/node';
import { type BackendResult, measureBackend } from './measure';
import { measurePytorch, type PytorchResult, pytorchVersion } from './pytorch';
import { oursToAccuracy, pytorchSeedRecipeToAccuracy, type TimeToAccuracy } from './time-to-accuracy';

const HELP = `Usage: pnpm bench [options]

LeNet-5 throughput on every Node backend here: training images/s at batch 64 and 256 (real steps, loss read back),
inference images/s at batch 1000, batch-1 latency, peak RSS. Each backend runs in a process of its own; every
figure is the median of --runs timed runs after a warm-up. Prints a table and writes JSON.

Options:
  --backends LIST   comma-separated backends            [all: ${listBackends().join(',')}]
  --runs N          timed runs per figure               [5]
  --steps N         training steps per timed run        [30]
  --quick           1 run of 3 steps (proves the bench works; the numbers mean little)
  --vs-pytorch      also time the seed's model in PyTorch (Debian python3-torch), alternating
                    ours and theirs (A B A B), and print the ratio of each pair and their median
  --pairs N         A/B pairs with --vs-pytorch         [3]
  --time-to-accuracy  with --vs-pytorch: also time 'lenet train' (defaults) to 99% and PyTorch's seed
                    recipe to 98.5% (several minutes; PyTorch also needs python3-pil)
  --json FILE       where to write the results          [bench-results.json]
`;

const exec = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);

/** Measures one backend in a fresh process, so backends and peak memory do not mix. */
async function measureInChild(backend: string, runs: number, steps: number): Promise<BackendResult> {
  const { stdout } = await exec(
    process.execPath,
    [SELF, '--measure', backend, '--runs', String(runs), '--steps', String(steps)],
    {
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as BackendResult;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function printTable(results: BackendResult[]) {
  const rows = [
    [
      'backend',
      'train b64 img/s',
      'train b256 img/s',
      'N workers b64',
      'N workers b256',
      'infer b1000 img/s',
      'latency b1 ms',
      'peak RSS MB',
    ],
    ...results.map((r) => [
      r.backend,
      fmt(r.trainImagesPerSecond['64']!),
      fmt(r.trainImagesPerSecond['256']!),
      r.parallelTrainImagesPerSecond ? `${fmt(r.parallelTrainImagesPerSecond['64']!)} (${r.workers})` : '-',
      r.parallelTrainImagesPerSecond ? `${fmt(r.parallelTrainImagesPerSecond['256']!)} (${r.workers})` : '-',
      fmt(r.inferImagesPerSecond),
      r.latencyMs.toFixed(2),
      fmt(r.peakRssMb),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    console.log(
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    );
}

/** Ours as `lenet train` runs by default (worker threads where measured), or PyTorch's. */
function trainRate(r: BackendResult | PytorchResult, batch: '64' | '256'): number {
  const parallel = 'parallelTrainImagesPerSecond' in r ? r.parallelTrainImagesPerSecond?.[batch] : undefined;
  return Math.max(parallel ?? 0, r.trainImagesPerSecond[batch]!);
}

async function versusPytorch(pairs: number, runs: number, steps: number, toAccuracy: boolean) {
  const torch = await pytorchVersion();
  if (!torch.version) {
    console.log(`\nvs PyTorch: skipped: ${torch.missing}`);
    return { skipped: torch.missing };
  }
  const idxDir = embeddedMnistDirectory();
  // PyTorch's best thread count on this machine: its OpenMP threads collapse when the other core is busy.
  // One after the other: run side by side they would compete for the two cores.
  const one = await measurePytorch(idxDir, 1, 1, steps);
  const two = await measurePytorch(idxDir, 2, 1, steps);
  const threads = one.trainImagesPerSecond['64']! >= two.trainImagesPerSecond['64']! ? 1 : 2;
  console.log(
    `\nvs PyTorch ${torch.version} (${threads} thread${threads > 1 ? 's' : ''}, the faster of 1 and 2), ours on the best backend, with worker threads where they are faster:`,
  );
  const keys = [
    ['train b64', (r: BackendResult | PytorchResult) => trainRate(r, '64')],
    ['train b256', (r: BackendResult | PytorchResult) => trainRate(r, '256')],
    ['infer b1000', (r: BackendResult | PytorchResult) => r.inferImagesPerSecond],
  ] as const;
  const ratios: Record<string, number[]> = Object.fromEntries(keys.map(([k]) => [k, []]));
  const log: unknown[] = [];
  for (let pair = 1; pair <= pairs; pair++) {
    const ours = await measureInChild('auto', runs, steps);
    const theirs = await measurePytorch(idxDir, threads, runs, steps);
    log.push({ pair, ours, theirs });
    const cells = keys.map(([k, get]) => {
      const ratio = get(ours) / get(theirs);
      ratios[k]!.push(ratio);
      return `${k} ${fmt(get(ours))} / ${fmt(get(theirs))} = ${ratio.toFixed(2)}`;
    });
    console.log(`  pair ${pair} (${ours.backend}): ${cells.join('; ')}`);
  }
  const medians = Object.fromEntries(keys.map(([k]) => [k, median(ratios[k]!)]));
  console.log(
    `  median ratio ours/PyTorch: ${keys.map(([k]) => `${k} ${medians[k]!.toFixed(2)}`).join('; ')}`,
  );
  const timeToAccuracy = toAccuracy ? await compareTimeToAccuracy(idxDir, threads) : undefined;
  return { torch: torch.version, threads, pairs: log, medianRatios: medians, timeToAccuracy };
}

/** Ours (`lenet train` defaults) to 99% against PyTorch's seed recipe to 98.5%, training and evaluation time. */
async function compareTimeToAccuracy(idxDir: string, threads: number) {
  const ours = await oursToAccuracy(0.99);
  const theirs = await pytorchSeedRecipeToAccuracy(idxDir, threads, 0.985);
  const at = (r: TimeToAccuracy) =>
    r.seconds === null ? 'not reached' : `${r.seconds.toFixed(1)} s (epoch ${r.epoch})`;
  console.log(
    `  time to accuracy: ours (pnpm train defaults) to 99.0%: ${at(ours)}, final ${(100 * ours.finalAccuracy).toFixed(2)}%; ` +
      `PyTorch, the seed's recipe, to 98.5%: ${at(theirs)}`,
  );
  return { ours, theirs };
}

async function main() {
  const { values } = parseArgs({
    options: {
      measure: { type: 'string' },
      backends: { type: 'string' },
      runs: { type: 'string' },
      steps: { type: 'string' },
      quick: { type: 'boolean' },
      'vs-pytorch': { type: 'boolean' },
      pairs: { type: 'string' },
      'time-to-accuracy': { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  const runs = values.quick ? 1 : Number(values.runs ?? 5);
  const steps = values.quick ? 3 : Number(values.steps ?? 30);
  if (values.measure) {
    // Child mode: one backend, JSON on stdout.
    return void console.log(
      JSON.stringify(await measureBackend(values.measure as NodeBackendName, { runs, steps })),
    );
  }
  const wanted = values.backends?.split(',') ?? [...listBackends()];
  const results: BackendResult[] = [];
  const skipped: { backend: string; reason: string }[] = [];
  for (const backend of wanted) {
    try {
      results.push(await measureInChild(backend, runs, steps));
    } catch (error) {
      const reason = String((error as { stderr?: string }).stderr || error)
        .trim()
        .split('\n')
        .pop()!;
      skipped.push({ backend, reason });
    }
  }
  printTable(results);
  for (const s of skipped) console.log(`${s.backend}: skipped: ${s.reason}`);
  const pytorch = values['vs-pytorch']
    ? await versusPytorch(Number(values.pairs ?? 3), runs, steps, Boolean(values['time-to-accuracy']))
    : undefined;
  const file = values.json ?? 'bench-results.json';
  await writeFile(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), runs, steps, results, skipped, pytorch }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(`bench: error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
