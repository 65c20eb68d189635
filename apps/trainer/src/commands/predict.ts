import { preprocessImages } from '@lenet/data';
import { readPngGray, useBackend } from '@lenet/node';
import * as tf from '@tensorflow/tfjs-core';
import { choiceFlag, intFlag, parseCommandArgs } from '../args';
import {
  BACKEND_HELP_LINES,
  BACKEND_OPTIONS,
  describeBackend,
  parseBackend,
  parseBackendOptions,
} from '../backend';
import { loadData } from '../dataset';
import { CliError, UsageError } from '../errors';
import { ALLOW_NON_FINITE_HELP, DEFAULT_WEIGHTS_DIR, loadTrainedModel } from '../model-files';

export const PREDICT_HELP = `Usage: lenet predict [options] [IMAGE.png]

Prints the 10 class probabilities for one digit: a 28x28 PNG (white digit on black, like MNIST;
--invert for black on white), or an MNIST image chosen with --index.

Options:
  --weights PATH        a folder written by 'lenet train', or a PyTorch .pt/.pth/.safetensors   [${DEFAULT_WEIGHTS_DIR}]
  --index N             the N-th image (from 0) of --split instead of a PNG
  --split NAME          train | test                               [test]
  --invert              the PNG is a dark digit on a light background
  --data SOURCE         embedded | a directory of IDX files | an http(s) URL   [embedded]
  --allow-non-finite    ${ALLOW_NON_FINITE_HELP}
${BACKEND_HELP_LINES}
  -h, --help            this help
`;

export async function predictCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(
    'predict',
    argv,
    {
      weights: { type: 'string' },
      index: { type: 'string' },
      split: { type: 'string' },
      invert: { type: 'boolean' },
      data: { type: 'string' },
      'allow-non-finite': { type: 'boolean' },
      ...BACKEND_OPTIONS,
    },
    true,
  );
  if (values.help) {
    process.stdout.write(PREDICT_HELP);
    return;
  }
  if (positionals.length > 1)
    throw new UsageError(`expected one image, got ${positionals.length}`, 'predict');
  if ((positionals.length === 1) === (values.index !== undefined)) {
    throw new UsageError('give either an IMAGE.png or --index N', 'predict');
  }
  const split = choiceFlag('split', values.split, ['train', 'test'], 'test');
  const backend = await useBackend(parseBackend(values.backend), parseBackendOptions(values['gpu-adapter']));
  console.log(describeBackend(backend));

  let pixels: Uint8Array;
  let label: number | undefined;
  if (positionals[0] !== undefined) {
    const image = await readPngGray(positionals[0]);
    if (image.width !== 28 || image.height !== 28) {
      throw new CliError(
        `${positionals[0]} is ${image.width}x${image.height}; predict takes a 28x28 image like MNIST's ` +
          '(for free-hand drawings of any size, @lenet/web crops, scales and centres them first)',
      );
    }
    pixels = values.invert ? image.pixels.map((v) => 255 - v) : image.pixels;
  } else {
    const mnist = await loadData(values.data ?? 'embedded');
    const images = mnist[split];
    const index = intFlag('index', values.index, 0, 0, images.count - 1);
    pixels = images.images.subarray(index * 784, (index + 1) * 784);
    label = images.labels[index];
  }

  const { model, preprocessing } = await loadTrainedModel(values.weights ?? DEFAULT_WEIGHTS_DIR, {
    allowNonFinite: values['allow-non-finite'],
  });
  const input = tf.tensor4d(preprocessImages(pixels, 1, preprocessing), [1, 32, 32, 1]);
  const probabilitiesTensor = model.predict(input);
  const probabilities = Array.from(await probabilitiesTensor.data());
  tf.dispose([input, probabilitiesTensor]);
  model.dispose();

  const best = probabilities.indexOf(Math.max(...probabilities));
  for (const [digit, p] of probabilities.entries()) {
    const bar = '#'.repeat(Math.round(p * 40));
    console.log(`${digit}  ${(100 * p).toFixed(2).padStart(6)}%  ${bar}`);
  }
  console.log(
    `prediction: ${best} (${(100 * probabilities[best]!).toFixed(2)}%)` +
      (label === undefined ? '' : `, label: ${label}${label === best ? '' : ' (wrong)'}`),
  );
}
