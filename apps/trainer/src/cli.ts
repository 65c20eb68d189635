import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { evaluateCommand } from './commands/evaluate';
import { gridCommand } from './commands/grid';
import { predictCommand } from './commands/predict';
import { summaryCommand } from './commands/summary';
import { train } from './commands/train';
import { CliError, describeError, UsageError } from './errors';

const HELP = `Usage: lenet <command> [options]

Train, evaluate and inspect LeNet-5 on MNIST.

Commands:
  train      train LeNet-5 (defaults: embedded MNIST, best backend, >= 98.5% in a few minutes)
  eval       accuracy, loss and confusion matrix of trained weights on the test set
  predict    class probabilities for a 28x28 PNG or an MNIST image
  summary    the model's shape walk and parameter table (61,706 parameters)
  grid       the first MNIST images as a PNG grid

Run 'lenet <command> --help' for a command's options.
Set LENET_DEBUG=1 to see stack traces.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  train,
  eval: evaluateCommand,
  predict: predictCommand,
  summary: summaryCommand,
  grid: gridCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    const require = createRequire(import.meta.url);
    console.log((require('../package.json') as { version: string }).version);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run)
    throw new UsageError(`unknown command '${command}'. Commands: ${Object.keys(COMMANDS).join(', ')}`);
  try {
    await run(rest);
  } catch (error) {
    if (error instanceof UsageError) error.command ??= command;
    throw error;
  }
  return 0;
}

// Production mode silences tfjs's banner that suggests tfjs-node; the CLI already says which backend runs.
tf.enableProdMode();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (process.env.LENET_DEBUG) console.error(error);
    console.error(`lenet: error: ${describeError(error)}`);
    if (error instanceof UsageError) {
      console.error(`Run 'lenet ${error.command ? `${error.command} ` : ''}--help' for usage.`);
      process.exitCode = 2;
    } else {
      if (!(error instanceof CliError) && !process.env.LENET_DEBUG) {
        console.error('(set LENET_DEBUG=1 to see where it happened)');
      }
      process.exitCode = 1;
    }
  },
);
