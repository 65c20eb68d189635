import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareSplit } from '@lenet/data';
import { useBackend, writeFileAtomic } from '@lenet/node';
import { evaluate } from '@lenet/ops';
import { intFlag, parseCommandArgs } from '../args';
import {
  BACKEND_HELP_LINES,
  BACKEND_OPTIONS,
  describeBackend,
  parseBackend,
  parseBackendOptions,
} from '../backend';
import { evaluationBatches, loadData } from '../dataset';
import { CliError, describeError } from '../errors';
import { REPORT_MISTAKES, rawDigits, writeMistakesPicture } from '../mistakes-picture';
import { ALLOW_NON_FINITE_HELP, DEFAULT_WEIGHTS_DIR, loadTrainedModel } from '../model-files';
import { confusionSvg, formatConfusion } from '../report';

export const EVAL_HELP = `Usage: lenet eval [options]

Evaluates trained weights on the MNIST test set: loss, accuracy and the confusion matrix. Writes, under
--report, confusion.svg and mistakes.png: the ${REPORT_MISTAKES} misclassified test images of highest loss,
worst first, each labelled true>predicted and the predicted class's probability ("7>2 93%"); with no
mistake at all, a picture that says NONE.

Options:
  --weights PATH        a folder written by 'lenet train', or a PyTorch .pt/.pth/.safetensors   [${DEFAULT_WEIGHTS_DIR}]
  --data SOURCE         embedded | a directory of IDX files | an http(s) URL   [embedded]
${BACKEND_HELP_LINES}
  --limit N             evaluate the first N test images only
  --report DIR          the folder for confusion.svg and mistakes.png (made if missing)   [report]
  --allow-non-finite    ${ALLOW_NON_FINITE_HELP}
  -h, --help            this help
`;

export async function evaluateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('eval', argv, {
    weights: { type: 'string' },
    data: { type: 'string' },
    ...BACKEND_OPTIONS,
    limit: { type: 'string' },
    report: { type: 'string' },
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
  const test = prepareSplit(mnist.test, preprocessing, limit);
  const result = await evaluate(model, evaluationBatches(test), { mistakes: REPORT_MISTAKES });
  model.dispose();
  console.log(
    `test accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}`,
  );
  console.log(`\n${formatConfusion(result.confusion)}`);

  const report = values.report ?? 'report';
  const confusionPath = join(report, 'confusion.svg');
  const mistakesPath = join(report, 'mistakes.png');
  const mistakes = result.mistakes ?? [];
  let picture: { width: number; height: number };
  try {
    await mkdir(report, { recursive: true });
    await writeFileAtomic(confusionPath, confusionSvg(result.confusion));
    // evaluate's indices count from the first test image: prepare took the first `limit` in order.
    picture = await writeMistakesPicture(mistakesPath, mistakes, rawDigits(mnist.test.images));
  } catch (error) {
    throw new CliError(`cannot write the report to ${report}: ${describeError(error)}`);
  }
  const shown =
    mistakes.length === 0
      ? 'no mistakes'
      : `the worst ${mistakes.length} of ${result.count - result.correct} mistakes`;
  console.log(`\nwrote ${confusionPath} and ${mistakesPath} (${picture.width}x${picture.height}, ${shown})`);
}
