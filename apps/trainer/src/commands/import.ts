import { basename, join } from 'node:path';
import { RECIPE_NAMES, RECIPES } from '@lenet/data';
import { fileSystemHandler, useBackend } from '@lenet/node';
import { saveWeights } from '@lenet/ops';
import { choiceFlag, parseCommandArgs } from '../args';
import { CliError, describeError, UsageError } from '../errors';
import { isPyTorchWeightsPath, loadPyTorchModel } from '../model-files';

/** Where `import` writes when no --out is given (apart from `train`'s output, which it must not overwrite). */
export const DEFAULT_IMPORT_DIR = join('runs', 'imported', 'model');

export const IMPORT_HELP = `Usage: lenet import [options] FILE

Converts the seed's PyTorch LeNet-5 weights into TF.js weights for 'lenet eval', 'lenet predict' and the demo.
FILE is what torch.save(model.state_dict(), 'lenet5.pt') writes (.pt or .pth), or a .safetensors file with
the same names (conv1, conv2, conv3, fc1, fc2). The file is read without running any of its code.
The weights record the preprocessing they expect: the seed's (Resize((32,32)) + ToTensor, no normalisation)
unless the file records another.

Options:
  --out DIR         where to write model.json and weights.bin   [${DEFAULT_IMPORT_DIR}]
  --recipe NAME     the weights were trained with this recipe's preprocessing: seed | default
                    [what the file records, else seed]
  -h, --help        this help
`;

export async function importCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(
    'import',
    argv,
    { out: { type: 'string' }, recipe: { type: 'string' } },
    true,
  );
  if (values.help) {
    process.stdout.write(IMPORT_HELP);
    return;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected one FILE (.pt, .pth or .safetensors), got ${positionals.length}`,
      'import',
    );
  }
  const file = positionals[0]!;
  if (!isPyTorchWeightsPath(file)) {
    throw new UsageError(`${file} is not a .pt, .pth or .safetensors file`, 'import');
  }
  const recipe =
    values.recipe === undefined
      ? undefined
      : RECIPES[choiceFlag('recipe', values.recipe, RECIPE_NAMES, 'seed')];
  const out = values.out ?? DEFAULT_IMPORT_DIR;

  // Converting weights only moves numbers: the always-present cpu backend holds them bit for bit.
  await useBackend('cpu');
  const imported = await loadPyTorchModel(file);
  const preprocessing = recipe?.preprocessing ?? imported.preprocessing;
  try {
    await saveWeights(imported.model, fileSystemHandler(out), {
      preprocessing,
      importedFrom: { file: basename(file), format: imported.format },
    });
  } catch (error) {
    throw new CliError(`cannot write the weights to ${out}: ${describeError(error)}`);
  } finally {
    imported.model.dispose();
  }
  console.log(`imported ${file} (${imported.format}, the seed's LeNet-5: 61,706 parameters) into ${out}`);
  console.log(
    `preprocessing: ${preprocessing.resize === 'bilinear' ? 'bilinear resize 28->32' : 'pad 28->32'}, ` +
      (preprocessing.normalize
        ? `normalise (mean ${preprocessing.normalize.mean}, std ${preprocessing.normalize.std})`
        : 'no normalisation'),
  );
  console.log(`next: lenet eval --weights ${out}`);
}
