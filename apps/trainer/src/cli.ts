import { createRequire } from 'node:module';
import { releaseBackend } from '@lenet/node';
import * as tf from '@tensorflow/tfjs-core';
import { doctorCommand } from './commands/doctor';
import { evaluateCommand } from './commands/evaluate';
import { exportCommand } from './commands/export';
import { gridCommand } from './commands/grid';
import { importCommand } from './commands/import';
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
  import     the seed's PyTorch weights (.pt from torch.save(state_dict), .safetensors) -> TF.js weights
  export     trained weights -> .safetensors with PyTorch names, for the seed's PyTorch model
  doctor     which backends (CUDA, WebGPU, native, wasm, cpu) run here, and why the others do not

Run 'lenet <command> --help' for a command's options.
Set LENET_DEBUG=1 to see stack traces.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  train,
  eval: evaluateCommand,
  predict: predictCommand,
  summary: summaryCommand,
  grid: gridCommand,
  import: importCommand,
  export: exportCommand,
  doctor: doctorCommand,
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
  } finally {
    // A WebGPU device keeps the process alive while it is referenced.
    releaseBackend();
  }
  return 0;
}

// `lenet train | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

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
      // Our packages' own errors (named subclasses) already say what to do; a plain Error may be a bug.
      const generic = ['Error', 'TypeError', 'RangeError', 'ReferenceError'].includes((error as Error)?.name);
      if (!(error instanceof CliError) && generic && !process.env.LENET_DEBUG) {
        console.error('(set LENET_DEBUG=1 to see where it happened)');
      }
      process.exitCode = 1;
    }
  },
);
