// Trains the weights the demo ships, reproducibly: the trainer's default recipe (pad 28->32, normalise, seeded
// distortions, Adam with warm-up + cosine decay, 12 epochs) at batch 64 and lr 2e-3, with seed 0, on the embedded MNIST, then copies model.json +
// weights.bin into public/weights/. Run with `pnpm --filter demo weights` (it builds the trainer first).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const runDir = join(root, 'runs', 'demo-weights');
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

run('pnpm', ['turbo', 'run', 'build', '--filter=@lenet/trainer...', '--output-logs=errors-only']);
run('node', [
  'apps/trainer/dist/cli.js',
  'train',
  '--seed',
  '0',
  '--batch-size',
  '64',
  '--lr',
  '0.002',
  '--out',
  runDir,
]);
const target = join(here, '..', 'public', 'weights');
mkdirSync(target, { recursive: true });
for (const file of ['model.json', 'weights.bin'])
  copyFileSync(join(runDir, 'model', file), join(target, file));
console.log(`copied ${runDir}/model/{model.json,weights.bin} to apps/demo/public/weights/`);
