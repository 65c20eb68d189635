import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { useBackend, writeFileAtomic } from '@lenet/node';
import { exportSafetensors } from '@lenet/ops/pytorch';
import { choiceFlag, parseCommandArgs } from '../args';
import { CliError, describeError, UsageError } from '../errors';
import {
  ALLOW_NON_FINITE_HELP,
  DEFAULT_WEIGHTS_DIR,
  isPyTorchWeightsPath,
  loadTrainedModel,
} from '../model-files';

/** The formats `export` writes. */
export const EXPORT_FORMATS = ['safetensors'] as const;

/** The file name `export` writes inside the weights directory when no --out is given. */
export const DEFAULT_EXPORT_FILE = 'lenet5.safetensors';

export const EXPORT_HELP = `Usage: lenet export [options]

Writes trained weights for PyTorch: a .safetensors file with the seed's names and layouts
(conv1.weight [6,1,5,5] ... fc2.bias [10]), float32, which loads into the seed's LeNet_5 with
  model.load_state_dict(safetensors.torch.load_file('lenet5.safetensors'))
Its __metadata__ records the preprocessing the weights expect.

Options:
  --weights DIR     TF.js weights ('lenet train', 'lenet import'), or a .pt/.safetensors   [${DEFAULT_WEIGHTS_DIR}]
  --format NAME     safetensors                                  [safetensors]
  --out FILE        the file to write                            [DIR/${DEFAULT_EXPORT_FILE}]
  --allow-non-finite  ${ALLOW_NON_FINITE_HELP}
  -h, --help        this help
`;

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('export', argv, {
    weights: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    'allow-non-finite': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return;
  }
  choiceFlag('format', values.format, EXPORT_FORMATS, 'safetensors');
  const weights = values.weights ?? DEFAULT_WEIGHTS_DIR;
  if (values.out === undefined && isPyTorchWeightsPath(weights)) {
    throw new UsageError('--weights is a file: give the file to write with --out FILE.safetensors', 'export');
  }
  const out = values.out ?? join(weights, DEFAULT_EXPORT_FILE);

  // Converting weights only moves numbers: the always-present cpu backend holds them bit for bit.
  await useBackend('cpu');
  const { model, preprocessing } = await loadTrainedModel(weights, {
    allowNonFinite: values['allow-non-finite'],
  });
  let bytes: Uint8Array;
  try {
    if (model.activation !== 'tanh' || model.pooling !== 'avg') {
      console.warn(
        `warning: these weights are for ${model.activation} with ${model.pooling} pooling; the seed's LeNet_5 ` +
          'uses tanh with average pooling, so PyTorch will load them but compute something else',
      );
    }
    bytes = await exportSafetensors(model, preprocessing);
  } finally {
    model.dispose();
  }
  try {
    await mkdir(dirname(out), { recursive: true });
    await writeFileAtomic(out, bytes);
  } catch (error) {
    throw new CliError(`cannot write ${out}: ${describeError(error)}`);
  }
  console.log(`wrote ${out} (${bytes.length} bytes, PyTorch names and layouts, float32)`);
  console.log(`in PyTorch: model.load_state_dict(safetensors.torch.load_file('${out}'))`);
}
