import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { batchCount, batches } from '@lenet/data';
import { fileSystemHandler, type NodeBackendName, useBackend, writeFileAtomic } from '@lenet/node';
import {
  type Activation,
  evaluate,
  LeNet5,
  NonFiniteLossError,
  type OptimizerState,
  type Pooling,
  saveWeights,
} from '@lenet/ops';
import { choiceFlag, intFlag, parseCommandArgs, positiveFlag } from '../args';
import {
  BACKEND_HELP_LINES,
  BACKEND_OPTIONS,
  describeBackend,
  parseBackend,
  parseBackendOptions,
} from '../backend';
import { loadCheckpoint, saveCheckpoint, type TrainingState } from '../checkpoint';
import { evaluationBatches, loadData, prepare } from '../dataset';
import { autoWorkers, createEngine } from '../engine';
import { CliError, UsageError } from '../errors';
import { formatDuration, Progress } from '../progress';
import { DEFAULT_AUGMENTATION, RECIPE_NAMES, RECIPES } from '../recipe';
import { confusionSvg, curvesSvg, type EpochMetrics, formatConfusion } from '../report';
import { learningRateAt } from '../schedule';

export const TRAIN_HELP = `Usage: lenet train [options]

Trains LeNet-5 on MNIST and writes, under --out:
  model/            final weights (TF.js model.json + weights.bin)
  checkpoints/      a checkpoint per epoch (weights, optimizer, state), written atomically
  metrics.json      per-epoch loss and accuracy, images/s, time to 98.5% and 99%
  report/           curves.svg (loss, accuracy) and confusion.svg

Options:
  --recipe NAME         default | seed (the seed blog post's recipe)        [default]
  --epochs N            epochs to train (with --resume: the total)          [recipe's]
  --batch-size N        images per step                                     [recipe's]
  --lr X                peak learning rate (Adam)                           [recipe's]
  --seed N              weights, shuffling and augmentation seed            [0]
${BACKEND_HELP_LINES}
  --data SOURCE         embedded | a directory of IDX files | an http(s) URL [embedded]
  --out DIR             output directory                                    [runs/lenet5]
  --resume              go on from the latest checkpoint in --out
  --limit N             train on the first N training images only
  --test-limit N        evaluate on the first N test images only
  --activation NAME     tanh | relu | sigmoid                                [tanh]
  --pooling NAME        avg | max                                            [avg]
  --augment             random shifts (2 px), rotations (10 deg) and zooms (10%) of training images
                        (on in the default recipe; --no-augment turns them off)
  --workers N|auto      worker threads sharing each batch (data-parallel); auto: one per core on
                        the CPU backends, 1 on a GPU                                [auto]
  -h, --help            this help
`;

const OPTIONS = {
  recipe: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  ...BACKEND_OPTIONS,
  data: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  limit: { type: 'string' },
  'test-limit': { type: 'string' },
  activation: { type: 'string' },
  pooling: { type: 'string' },
  augment: { type: 'boolean' },
  'no-augment': { type: 'boolean' },
  workers: { type: 'string' },
} as const;

export async function train(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('train', argv, OPTIONS);
  if (values.help) {
    process.stdout.write(TRAIN_HELP);
    return;
  }
  const recipe = RECIPES[choiceFlag('recipe', values.recipe, RECIPE_NAMES, 'default')];
  const settings = {
    recipe: recipe.name,
    batchSize: intFlag('batch-size', values['batch-size'], recipe.batchSize, 1, 60000),
    learningRate: positiveFlag('lr', values.lr, recipe.learningRate),
    seed: intFlag('seed', values.seed, 0, 0, 2 ** 31 - 1),
    activation: choiceFlag<Activation>('activation', values.activation, ['tanh', 'relu', 'sigmoid'], 'tanh'),
    pooling: choiceFlag<Pooling>('pooling', values.pooling, ['avg', 'max'], 'avg'),
    limit: values.limit === undefined ? undefined : intFlag('limit', values.limit, 0, 1, 60000),
    data: values.data ?? 'embedded',
    augment: values['no-augment'] ? false : Boolean(values.augment) || recipe.augmentation !== null,
  };
  const epochs = intFlag('epochs', values.epochs, recipe.epochs, 1, 10000);
  const testLimit =
    values['test-limit'] === undefined ? undefined : intFlag('test-limit', values['test-limit'], 0, 1, 10000);
  const backendName = parseBackend(values.backend);
  const out = resolve(values.out ?? join('runs', 'lenet5'));

  const backend = await useBackend(backendName, parseBackendOptions(values['gpu-adapter']));
  const workers =
    values.workers === undefined || values.workers === 'auto'
      ? autoWorkers(backend.name)
      : intFlag('workers', values.workers, 1, 1, 64);
  console.log(describeBackend(backend));

  const started = performance.now();
  const mnist = await loadData(settings.data);
  const trainSplit = prepare(mnist.train, recipe.preprocessing, settings.limit);
  const testSplit = prepare(mnist.test, recipe.preprocessing, testLimit);
  console.log(
    `data: ${settings.data} MNIST, ${trainSplit.count} train / ${testSplit.count} test images, ` +
      `${recipe.preprocessing.resize === 'pad' ? 'padded' : 'resized'} to 32x32` +
      `${recipe.preprocessing.normalize ? ', normalised' : ''} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );

  let model: LeNet5;
  let state: TrainingState;
  let optimizerState: OptimizerState | undefined;
  if (values.resume) {
    const loaded = await loadCheckpoint(out);
    const mismatched = Object.entries(settings).filter(([k, v]) => loaded.state.settings[k] !== v);
    if (mismatched.length > 0) {
      loaded.model.dispose();
      const list = mismatched.map(
        ([k, v]) => `${k}: checkpoint ${JSON.stringify(loaded.state.settings[k])}, now ${JSON.stringify(v)}`,
      );
      throw new UsageError(
        `--resume with different settings than the checkpoint (${list.join('; ')})`,
        'train',
      );
    }
    ({ model, state, optimizerState } = loaded);
    console.log(`resumed from ${loaded.path} (epoch ${state.epoch} of ${epochs})`);
  } else {
    model = LeNet5.create({
      activation: settings.activation,
      pooling: settings.pooling,
      seed: settings.seed,
    });
    state = { epoch: 0, step: 0, elapsedSeconds: 0, settings, history: [] };
  }
  console.log(
    `model: LeNet-5 (${settings.activation}, ${settings.pooling} pooling), ${model.parameterCount().toLocaleString('en-US')} parameters; ` +
      `recipe ${recipe.name}: ${recipe.description}${settings.augment ? ', augmented' : ''}; batch ${settings.batchSize}, lr ${settings.learningRate}, ${epochs} epoch${epochs === 1 ? '' : 's'}`,
  );
  const engine = await createEngine({
    model,
    modelOptions: { activation: settings.activation, pooling: settings.pooling, seed: settings.seed },
    learningRate: settings.learningRate,
    optimizerState,
    workers,
    backend: backend.name as NodeBackendName,
  });
  console.log(`steps: ${engine.description}`);
  try {
    await trainEpochs();
  } finally {
    await engine.dispose();
    model.dispose();
  }

  async function trainEpochs() {
    await mkdir(out, { recursive: true });
    const history = state.history as EpochMetrics[];
    const stepsPerEpoch = batchCount(trainSplit.count, settings.batchSize, false);
    const totalSteps = stepsPerEpoch * epochs;
    const metadata = { recipe: recipe.name, preprocessing: recipe.preprocessing, seed: settings.seed };
    const augmentation = settings.augment ? (recipe.augmentation ?? DEFAULT_AUGMENTATION) : null;
    const augment = augmentation ? { ...augmentation, background: backgroundValue(recipe) } : undefined;
    let step = state.step;
    // Training time excludes data loading; a resumed run adds to the time already spent.
    const trainingStarted = performance.now();
    const priorSeconds = state.elapsedSeconds;

    for (let epoch = state.epoch + 1; epoch <= epochs; epoch++) {
      const progress = new Progress(`epoch ${epoch}/${epochs}`, trainSplit.count);
      let lossSum = 0;
      let seen = 0;
      const epochBatches = batches(trainSplit, {
        batchSize: settings.batchSize,
        shuffle: true,
        seed: settings.seed,
        epoch,
        augment,
      });
      for (const batch of epochBatches) {
        const rate = learningRateAt(recipe.schedule, settings.learningRate, step, totalSteps);
        let loss: number;
        try {
          loss = await engine.step(batch, rate);
        } catch (error) {
          if (error instanceof NonFiniteLossError) {
            throw new CliError(
              `training diverged at epoch ${epoch}, step ${step + 1}: ${error.message}` +
                (state.epoch > 0 ? ` The checkpoint of epoch ${state.epoch} in ${out} is intact.` : ''),
            );
          }
          throw error;
        }
        step++;
        lossSum += loss * batch.size;
        seen += batch.size;
        progress.update(seen, lossSum / seen);
      }
      const epochSeconds = progress.finish();
      await engine.syncModel();
      const evaluation = await evaluate(model, evaluationBatches(testSplit));
      const elapsed = priorSeconds + (performance.now() - trainingStarted) / 1000;
      const metrics: EpochMetrics = {
        epoch,
        trainLoss: lossSum / seen,
        testLoss: evaluation.loss,
        testAccuracy: evaluation.accuracy,
        learningRate: learningRateAt(recipe.schedule, settings.learningRate, step - 1, totalSteps),
        imagesPerSecond: seen / epochSeconds,
        epochSeconds,
        elapsedSeconds: elapsed,
      };
      history.push(metrics);
      console.log(
        `epoch ${epoch}/${epochs}: train loss ${metrics.trainLoss.toFixed(4)}, test loss ${metrics.testLoss.toFixed(4)}, ` +
          `test accuracy ${(100 * metrics.testAccuracy).toFixed(2)}%, ${Math.round(metrics.imagesPerSecond)} img/s, ` +
          `${formatDuration(epochSeconds)} (total ${formatDuration(elapsed)})`,
      );
      state = { epoch, step, elapsedSeconds: elapsed, settings, history };
      await saveCheckpoint(out, model, await engine.optimizerState(), state, metadata);
      await writeMetrics(out, backend.name, settings, history, evaluation.confusion);
      if (epoch === epochs) {
        await saveWeights(model, fileSystemHandler(join(out, 'model')), metadata);
        console.log(`\n${formatConfusion(evaluation.confusion)}\n`);
      }
    }

    const last = history[history.length - 1];
    if (last) {
      const reached = (target: number) => history.find((m) => m.testAccuracy >= target);
      const at = (target: number) => {
        const m = reached(target);
        return m ? `${formatDuration(m.elapsedSeconds)} (epoch ${m.epoch})` : 'not reached';
      };
      console.log(
        `done: test accuracy ${(100 * last.testAccuracy).toFixed(2)}% in ${formatDuration(last.elapsedSeconds)}; ` +
          `98.5% at ${at(0.985)}, 99% at ${at(0.99)}`,
      );
      console.log(`wrote ${join(out, 'model')}, metrics.json, report/curves.svg, report/confusion.svg`);
    }
  }
}

/** The input value of a black pixel after preprocessing: what augmentation fills uncovered pixels with. */
function backgroundValue(recipe: (typeof RECIPES)[keyof typeof RECIPES]): number {
  const n = recipe.preprocessing.normalize;
  return n ? (0 - n.mean) / n.std : 0;
}

async function writeMetrics(
  out: string,
  backend: string,
  settings: Record<string, unknown>,
  history: EpochMetrics[],
  confusion: number[][],
): Promise<void> {
  const firstAt = (target: number) => history.find((m) => m.testAccuracy >= target)?.elapsedSeconds ?? null;
  const metrics = {
    backend,
    settings,
    epochs: history,
    final: { testAccuracy: history[history.length - 1]?.testAccuracy ?? null, confusion },
    secondsTo: { '98.5': firstAt(0.985), '99.0': firstAt(0.99) },
  };
  await mkdir(join(out, 'report'), { recursive: true });
  await writeFileAtomic(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  await writeFileAtomic(join(out, 'report', 'curves.svg'), curvesSvg(history));
  await writeFileAtomic(join(out, 'report', 'confusion.svg'), confusionSvg(confusion));
}
