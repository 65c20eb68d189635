import { makeGrid } from '@lenet/data';
import { writePng } from '@lenet/node';
import { choiceFlag, intFlag, parseCommandArgs } from '../args';
import { loadData } from '../dataset';

export const GRID_HELP = `Usage: lenet grid [options]

Writes the first MNIST images as one PNG grid, as the seed does with make_grid (40 images, 8 per row).

Options:
  --out FILE        the PNG to write          [mnist-grid.png]
  --count N         images                    [40]
  --nrow N          images per row            [8]
  --padding N       pixels between images     [2]
  --split NAME      train | test              [train]
  --data SOURCE     embedded | a directory of IDX files | an http(s) URL   [embedded]
  -h, --help        this help
`;

export async function gridCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('grid', argv, {
    out: { type: 'string' },
    count: { type: 'string' },
    nrow: { type: 'string' },
    padding: { type: 'string' },
    split: { type: 'string' },
    data: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(GRID_HELP);
    return;
  }
  const count = intFlag('count', values.count, 40, 1, 10000);
  const nrow = intFlag('nrow', values.nrow, 8, 1, 1000);
  const padding = intFlag('padding', values.padding, 2, 0, 100);
  const split = choiceFlag('split', values.split, ['train', 'test'], 'train');
  const out = values.out ?? 'mnist-grid.png';
  const mnist = await loadData(values.data ?? 'embedded');
  const images = mnist[split];
  const n = Math.min(count, images.count);
  const grid = makeGrid(images.images.subarray(0, n * 28 * 28), n, 28, 28, { nrow, padding });
  await writePng(out, grid);
  const labels = Array.from(images.labels.subarray(0, n));
  console.log(`wrote ${out} (${grid.width}x${grid.height}, ${n} ${split} images)`);
  for (let row = 0; row * nrow < n; row++) {
    console.log(`labels row ${row + 1}: ${labels.slice(row * nrow, (row + 1) * nrow).join(' ')}`);
  }
}
