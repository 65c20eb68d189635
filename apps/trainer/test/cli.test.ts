import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPngGray } from '@lenet/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mistakesPictureSize, REPORT_MISTAKES } from '../src/mistakes-picture';
import { expectCleanError, lenet as run } from './run-cli';

const lenet = (...args: string[]) => run(args);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lenet-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lenet CLI errors', () => {
  it('prints help and exits 0 with --help, 2 without a command', async () => {
    const help = await lenet('--help');
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/train.*\n.*eval/s);
    expect((await lenet()).code).toBe(2);
    const trainHelp = await lenet('train', '--help');
    expect(trainHelp.code).toBe(0);
    expect(trainHelp.stdout).toContain('--batch-size');
    const evalHelp = await lenet('eval', '--help');
    expect(evalHelp.code).toBe(0);
    expect(evalHelp.stdout).toMatch(/--report DIR .*mistakes\.png/);
  });

  it('rejects an unknown command, an unknown flag and bad values with exit 2', async () => {
    expectCleanError(await lenet('fly'), 2, /unknown command 'fly'/);
    expectCleanError(await lenet('train', '--bogus'), 2, /Unknown option '--bogus'.*\n.*lenet train --help/s);
    expectCleanError(await lenet('train', '--epochs', 'abc'), 2, /--epochs must be a whole number/);
    expectCleanError(await lenet('train', '--lr=-1'), 2, /--lr must be a number greater than 0/);
    expectCleanError(
      await lenet('train', '--lr', '-1'),
      2,
      /^lenet: error: Option '--lr' argument is ambiguous\. .*--lr=-XYZ.*\n.*--help/,
    );
    expectCleanError(
      await lenet('train', '--backend', 'quantum'),
      2,
      /--backend must be auto or one of .*wasm/,
    );
    expectCleanError(await lenet('predict'), 2, /give either an IMAGE.png or --index N/);
  });

  it('says which data source is missing or corrupt, exit 1', async () => {
    expectCleanError(await lenet('train', '--data', join(dir, 'nowhere')), 1, /nowhere/);
    const bad = join(dir, 'corrupt');
    await rm(bad, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(bad));
    for (const name of [
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ]) {
      await writeFile(join(bad, name), new Uint8Array([0, 0, 8, 3, 0, 0, 0, 9]));
    }
    expectCleanError(await lenet('train', '--data', bad), 1, /idx3-ubyte|idx1-ubyte/);
  });

  it('says when there are no weights to evaluate', async () => {
    expectCleanError(
      await lenet('eval', '--weights', join(dir, 'none')),
      1,
      /cannot load weights from .*none/,
    );
  });
});

/** Checks that `path` is a PNG of the mistakes picture's size for `wrong` misclassified images. */
async function expectMistakesPng(path: string, wrong: number): Promise<void> {
  expect(wrong).toBeGreaterThan(0);
  const picture = await readPngGray(path);
  const expected = mistakesPictureSize(Math.min(REPORT_MISTAKES, wrong));
  expect({ width: picture.width, height: picture.height }).toEqual(expected);
  // Digits and labels: white pixels on black, not an empty picture.
  expect(picture.pixels.some((v) => v === 255)).toBe(true);
}

/** Misclassified images of a run's last evaluation, from its metrics.json. */
async function wrongIn(out: string): Promise<number> {
  const { confusion } = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')).final as {
    confusion: number[][];
  };
  return confusion.flat().reduce((a, b) => a + b, 0) - confusion.reduce((a, row, i) => a + row[i]!, 0);
}

describe('lenet on real MNIST', () => {
  const out = () => join(dir, 'run');

  const short = ['--limit', '3000', '--test-limit', '1000'];

  it('trains two short epochs well above chance and writes model, checkpoint, metrics and report', async () => {
    const run = await lenet('train', ...short, '--epochs', '2', '--out', out());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^backend: wasm/m);
    const metrics = JSON.parse(await readFile(join(out(), 'metrics.json'), 'utf8'));
    expect(metrics.epochs).toHaveLength(2);
    expect(metrics.epochs[1].testAccuracy).toBeGreaterThan(0.7);
    for (const file of [
      'model/model.json',
      'model/weights.bin',
      'checkpoints/latest.json',
      'report/curves.svg',
      'report/confusion.svg',
      'report/mistakes.png',
    ]) {
      expect(existsSync(join(out(), file)), file).toBe(true);
    }
    await expectMistakesPng(join(out(), 'report', 'mistakes.png'), await wrongIn(out()));
  });

  it('resumes from the checkpoint and refuses to resume with other settings', async () => {
    // The resumed run's last epoch draws the mistakes picture again.
    await rm(join(out(), 'report', 'mistakes.png'));
    const run = await lenet('train', ...short, '--epochs', '3', '--out', out(), '--resume');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('resumed from');
    expect(run.stdout).not.toMatch(/^epoch [12]\/3:/m);
    const metrics = JSON.parse(await readFile(join(out(), 'metrics.json'), 'utf8'));
    expect(metrics.epochs.map((m: { epoch: number }) => m.epoch)).toEqual([1, 2, 3]);
    await expectMistakesPng(join(out(), 'report', 'mistakes.png'), await wrongIn(out()));
    // Resumed with no epoch left (3 of 3 done), it still finishes the report.
    await rm(join(out(), 'report', 'mistakes.png'));
    const again = await lenet('train', ...short, '--epochs', '3', '--out', out(), '--resume');
    expect(again.code, again.stderr).toBe(0);
    await expectMistakesPng(join(out(), 'report', 'mistakes.png'), await wrongIn(out()));
    const mismatch = await lenet(
      'train',
      ...short,
      '--epochs',
      '4',
      '--lr',
      '0.01',
      '--out',
      out(),
      '--resume',
    );
    expectCleanError(mismatch, 2, /different settings.*learningRate/);
  });

  it('splits steps across worker threads with the same result, and resumes across engines', async () => {
    const epochs = async (dir: string) =>
      (JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')).epochs as { testLoss: number }[]).map(
        (m) => m.testLoss,
      );
    // The seed recipe's constant learning rate: a 1-epoch run then schedules its steps like a 2-epoch one.
    const seed = [...short, '--recipe', 'seed'];
    const single = join(dir, 'single');
    const parallel = join(dir, 'parallel');
    const one = await lenet('train', ...seed, '--epochs', '2', '--workers', '1', '--out', single);
    expect(one.stdout).toContain('steps: this thread');
    const two = await lenet('train', ...seed, '--epochs', '1', '--workers', '2', '--out', parallel);
    expect(two.stdout).toContain('steps: 2 worker threads');
    // The second epoch on one thread starts from the 2-worker checkpoint, Adam's moments included.
    const resumed = await lenet(
      'train',
      ...seed,
      '--epochs',
      '2',
      '--workers',
      '1',
      '--out',
      parallel,
      '--resume',
    );
    expect(resumed.code).toBe(0);
    const [a, b] = [await epochs(single), await epochs(parallel)];
    expect(b).toHaveLength(2);
    for (let i = 0; i < 2; i++) expect(b[i]).toBeCloseTo(a[i]!, 4);
    expectCleanError(await lenet('train', '--workers', '0'), 2, /--workers must be a whole number from 1/);
  });

  it('evaluates and predicts with the trained weights', async () => {
    const report = join(dir, 'eval-report');
    const evaluation = await lenet(
      'eval',
      '--weights',
      join(out(), 'model'),
      '--limit',
      '500',
      '--report',
      report,
    );
    expect(evaluation.code, evaluation.stderr).toBe(0);
    const accuracy = Number(/test accuracy ([\d.]+)%/.exec(evaluation.stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(70);
    const correct = Number(/\((\d+)\/500\)/.exec(evaluation.stdout)?.[1]);
    const wrong = 500 - correct;
    const { width, height } = mistakesPictureSize(Math.min(REPORT_MISTAKES, wrong));
    expect(evaluation.stdout).toContain(
      `wrote ${join(report, 'confusion.svg')} and ${join(report, 'mistakes.png')} (${width}x${height}, ` +
        `the worst ${Math.min(REPORT_MISTAKES, wrong)} of ${wrong} mistakes)`,
    );
    expect((await readFile(join(report, 'confusion.svg'), 'utf8')).startsWith('<svg')).toBe(true);
    await expectMistakesPng(join(report, 'mistakes.png'), wrong);
    const prediction = await lenet('predict', '--weights', join(out(), 'model'), '--index', '0');
    expect(prediction.code).toBe(0);
    expect(prediction.stdout).toMatch(/prediction: \d \([\d.]+%\), label: 7/);
  });

  it('writes the seed grid as a PNG and prints the model summary', async () => {
    const png = join(dir, 'grid.png');
    const grid = await lenet('grid', '--out', png);
    expect(grid.code).toBe(0);
    expect(grid.stdout).toContain('242x152');
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    const summary = await lenet('summary');
    expect(summary.code).toBe(0);
    expect(summary.stdout).toContain('61,706');
    expect(summary.stdout).toContain('x_8');
  });
});
