import { useBackend } from '@lenet/node';
import { evaluate } from '@lenet/ops';
import { intFlag, parseCommandArgs } from '../args';
import {
  BACKEND_HELP_LINES,
  BACKEND_OPTIONS,
  describeBackend,
  parseBackend,
  parseBackendOptions,
} from '../backend';
import { evaluationBatches, loadData, prepare } from '../dataset';
import { ALLOW_NON_FINITE_HELP, DEFAULT_WEIGHTS_DIR, loadTrainedModel } from '../model-files';
import { formatConfusion } from '../report';

export const EVAL_HELP = `Usage: lenet eval [options]

Evaluates trained weights on the MNIST test set: loss, accuracy and the confusion matrix.

Options:
  --weights PATH        a folder written by 'lenet train', or a PyTorch .pt/.pth/.safetensors   [${DEFAULT_WEIGHTS_DIR}]
  --data SOURCE         embedded | a directory of IDX files | an http(s) URL   [embedded]
${BACKEND_HELP_LINES}
  --limit N             evaluate the first N test images only
  --allow-non-finite    ${ALLOW_NON_FINITE_HELP}
  -h, --help            this help
`;

export async function evaluateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('eval', argv, {
    weights: { type: 'string' },
    data: { type: 'string' },
    ...BACKEND_OPTIONS,
    limit: { type: 'string' },
    'allow-non-finite': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(EVAL_HELP);
    return;
  }
  const limit = values.limit === undefined ? undefined : intFlag('limit', values.limit, 0, 1, 10000);
  const backend = await useBackend(parseBackend(values.backend), parseBackendOptions(values['gpu-adapter']));
  console.log(describeBackend(backend));
  const { model, preprocessing } = await loadTrainedModel(values.weights ?? DEFAULT_WEIGHTS_DIR, {
    allowNonFinite: values['allow-non-finite'],
  });
  const mnist = await loadData(values.data ?? 'embedded');
  const test = prepare(mnist.test, preprocessing, limit);
  const result = await evaluate(model, evaluationBatches(test));
  model.dispose();
  console.log(
    `test accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}`,
  );
  console.log(`\n${formatConfusion(result.confusion)}`);
}
