import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareSplit, RECIPE_NAMES, RECIPES, type Recipe } from '@lenet/data';
import { type NodeBackendName, useBackend } from '@lenet/node';
import { type Activation, LeNet5, type Pooling } from '@lenet/ops';
import { choiceFlag, intFlag, parseCommandArgs, positiveFlag } from '../args';
import {
  BACKEND_HELP_LINES,
  BACKEND_OPTIONS,
  describeBackend,
  parseBackend,
  parseBackendOptions,
} from '../backend';
import { loadCheckpoint, type TrainingState } from '../checkpoint';
import { loadData } from '../dataset';
import { autoWorkers, createEngine } from '../engine';
import { UsageError } from '../errors';
import { lockOutDir } from '../out-dir';
import { runEpochs, type TrainSettings } from '../training-loop';

export const TRAIN_HELP = `Usage: lenet train [options]

Trains LeNet-5 on MNIST and writes, under --out:
  model/            final weights (TF.js model.json + weights.bin)
  checkpoints/      a checkpoint per epoch (weights, optimizer, state), written atomically
  metrics.json      per-epoch loss and accuracy, images/s, time to 98.5% and 99%
  report/           curves.svg (loss, accuracy), confusion.svg and mistakes.png (the last
                    evaluation's worst 40 test digits, labelled)

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
                        the CPU backends, 1 on a GPU (which then holds the training set and
                        makes every batch itself)                                  [auto]
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
  const settings: TrainSettings = {
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
  const requestedWorkers =
    values.workers === undefined || values.workers === 'auto'
      ? undefined
      : intFlag('workers', values.workers, 1, 1, 64);
  const out = resolve(values.out ?? join('runs', 'lenet5'));

  // Before anything slow: a second run on the same --out is refused at once.
  const outDir = await lockOutDir(out);
  try {
    for (const note of outDir.notes) console.log(`note: ${out}: ${note}`);
    await trainIn({
      out,
      settings,
      recipe,
      epochs,
      testLimit,
      backendName,
      workers: requestedWorkers,
      gpuAdapter: values['gpu-adapter'],
      resume: Boolean(values.resume),
    });
  } finally {
    await outDir.release();
  }
}

/** A `train` call's flags, parsed and checked. */
interface TrainRequest {
  /** The locked output folder. */
  out: string;
  settings: TrainSettings;
  recipe: Recipe;
  epochs: number;
  testLimit: number | undefined;
  backendName: ReturnType<typeof parseBackend>;
  /** --workers; undefined for auto. */
  workers: number | undefined;
  gpuAdapter: string | undefined;
  resume: boolean;
}

/** Everything `train` does once its --out folder is locked. */
async function trainIn(request: TrainRequest): Promise<void> {
  const { out, settings, recipe, epochs, testLimit } = request;
  const backend = await useBackend(request.backendName, parseBackendOptions(request.gpuAdapter));
  const workers = request.workers ?? autoWorkers(backend.name);
  if (workers > availableParallelism()) {
    console.warn(
      `warning: --workers ${workers} is more than the ${availableParallelism()} cores here; every worker holds ` +
        'its own backend and model, so the extra ones cost memory and slow training down (--workers auto uses one per core)',
    );
  }
  console.log(describeBackend(backend));

  const started = performance.now();
  const mnist = await loadData(settings.data);
  const trainSplit = prepareSplit(mnist.train, recipe.preprocessing, settings.limit);
  const testSplit = prepareSplit(mnist.test, recipe.preprocessing, testLimit);
  console.log(
    `data: ${settings.data} MNIST, ${trainSplit.count} train / ${testSplit.count} test images, ` +
      `${recipe.preprocessing.resize === 'pad' ? 'padded' : 'resized'} to 32x32` +
      `${recipe.preprocessing.normalize ? ', normalised' : ''} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );

  const { model, state, optimizerState } = request.resume
    ? await resumeFrom(out, settings, epochs)
    : {
        model: LeNet5.create({
          activation: settings.activation,
          pooling: settings.pooling,
          seed: settings.seed,
        }),
        state: { epoch: 0, step: 0, elapsedSeconds: 0, settings, history: [] } satisfies TrainingState,
        optimizerState: undefined,
      };
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
    trainSplit,
  });
  console.log(`steps: ${engine.description}`);
  try {
    await runEpochs({
      out,
      backend: backend.name,
      settings,
      recipe,
      epochs,
      trainSplit,
      testSplit,
      testImages: mnist.test.images,
      model,
      engine,
      state,
    });
  } finally {
    await engine.dispose();
    model.dispose();
  }
}

/** The latest checkpoint under `out`, refused when it was trained with other settings. */
async function resumeFrom(out: string, settings: TrainSettings, epochs: number) {
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
  console.log(`resumed from ${loaded.path} (epoch ${loaded.state.epoch} of ${epochs})`);
  return loaded;
}
