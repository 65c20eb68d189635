import { type Activation, formatSummary, type Pooling, shapeWalk, summary } from '@lenet/ops';
import { choiceFlag, parseCommandArgs } from '../args';

export const SUMMARY_HELP = `Usage: lenet summary [options]

Prints LeNet-5's shape walk (x_0 .. x_8, as the seed prints it) and a torchsummary-like table.

Options:
  --activation NAME   tanh | relu | sigmoid   [tanh]
  --pooling NAME      avg | max               [avg]
  -h, --help          this help
`;

export async function summaryCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('summary', argv, {
    activation: { type: 'string' },
    pooling: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(SUMMARY_HELP);
    return;
  }
  const activation = choiceFlag<Activation>(
    'activation',
    values.activation,
    ['tanh', 'relu', 'sigmoid'],
    'tanh',
  );
  const pooling = choiceFlag<Pooling>('pooling', values.pooling, ['avg', 'max'], 'avg');
  console.log(shapeWalk().join('\n'));
  console.log();
  console.log(formatSummary(summary({ activation, pooling })));
}
