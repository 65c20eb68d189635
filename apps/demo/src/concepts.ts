/**
 * The seed's concepts, each shown on the live model with one C1 filter: kernel, convolution and stride,
 * activation (tanh against ReLU and sigmoid), pooling (average against max), fully connected, softmax.
 */
import type { LeNet5 } from '@lenet/ops';
import { type Analysis, featureMapPictures, kernelPictures, type Picture, vectorPicture } from '@lenet/web';
import * as tf from '@tensorflow/tfjs-core';
import { drawPicture, figure, pictureCanvas } from './render';

interface Card {
  id: string;
  title: string;
  text: string;
  /** Captions of the pictures the card shows, with their display scale. */
  pictures: [caption: string, scale: number][];
}

const CARDS: Card[] = [
  {
    id: 'kernel',
    title: 'Kernel (filter)',
    text: 'A 5×5 grid of learned weights. It looks for one small pattern, such as an edge at some angle, anywhere in the image. C1 has 6 of them.',
    pictures: [['this filter', 12]],
  },
  {
    id: 'convolution',
    title: 'Convolution and stride',
    text: 'Slide the kernel over the 32×32 input; at each stop multiply and add the 25 pixels under it. With stride 1 it stops everywhere: (32−5)/1+1 = 28 positions a side. Stride 2 skips every other one: 14.',
    pictures: [
      ['input 32×32', 2.5],
      ['stride 1: 28×28', 2.5],
      ['stride 2: 14×14', 5],
    ],
  },
  {
    id: 'activation',
    title: 'Activation',
    text: 'A nonlinearity after each sum, without which stacked layers would collapse into one. tanh (LeNet-5) squashes to −1…1; ReLU keeps positives and zeroes negatives; sigmoid squashes to 0…1 and is never negative.',
    pictures: [
      ['tanh', 2.5],
      ['ReLU', 2.5],
      ['sigmoid', 2.5],
    ],
  },
  {
    id: 'pooling',
    title: 'Pooling (subsampling)',
    text: 'Shrink each map by 2: every 2×2 block becomes one value. Average pooling (LeNet-5) keeps the mean and blurs; max pooling keeps the strongest response. Small shifts of the digit matter less after it.',
    pictures: [
      ['average 14×14', 5],
      ['max 14×14', 5],
    ],
  },
  {
    id: 'dense',
    title: 'Fully connected',
    text: 'Every F6 unit looks at all 120 C5 values: a weighted sum plus a bias, then tanh. That is 120×84 + 84 = 10,164 parameters, and the output layer adds 84×10 + 10 more.',
    pictures: [
      ['C5: 120 values', 8],
      ['F6: 84 values', 8],
    ],
  },
  {
    id: 'softmax',
    title: 'Softmax',
    text: 'Turns the 10 output scores (logits) into probabilities: e^score / the sum of all e^scores. Each is between 0 and 1 and together they add up to 1.',
    pictures: [],
  },
];

export class ConceptsView {
  private readonly canvases = new Map<string, HTMLCanvasElement[]>();
  private readonly logits: HTMLElement;

  constructor(container: HTMLElement) {
    for (const card of CARDS) {
      const element = document.createElement('article');
      element.className = 'concept';
      element.dataset['concept'] = card.id;
      const heading = document.createElement('h3');
      heading.textContent = card.title;
      const text = document.createElement('p');
      text.textContent = card.text;
      const maps = document.createElement('div');
      maps.className = 'maps';
      const canvases = card.pictures.map(([caption, scale]) =>
        pictureCanvas(`${card.title}: ${caption}`, scale),
      );
      maps.append(...canvases.map((canvas, i) => figure(canvas, card.pictures[i]![0])));
      element.append(heading, text, maps);
      container.append(element);
      this.canvases.set(card.id, canvases);
    }
    this.logits = document.createElement('div');
    this.logits.className = 'logits';
    container.querySelector('[data-concept="softmax"]')!.append(this.logits);
  }

  /** Redraws every card for `input` (32x32) with C1 filter `filter`; leaves no tensor behind. */
  async show(model: LeNet5, input: Float32Array, analysis: Analysis, filter: number): Promise<void> {
    const maps = tf.tidy(() => {
      const x = tf.tensor4d(input, [1, 32, 32, 1]);
      const kernel = tf.slice(model.params['C1/kernel'], [0, 0, 0, filter], [5, 5, 1, 1]) as tf.Tensor4D;
      const bias = tf.slice(model.params['C1/bias'], [filter], [1]);
      const z = tf.add(tf.conv2d(x, kernel, 1, 'valid'), bias) as tf.Tensor4D;
      const activated = tf.tanh(z) as tf.Tensor4D;
      return {
        kernel,
        stride1: activated,
        stride2: tf.tanh(tf.add(tf.conv2d(x, kernel, 2, 'valid'), bias)),
        relu: tf.relu(z),
        sigmoid: tf.sigmoid(z),
        average: tf.avgPool(activated, 2, 2, 'valid'),
        max: tf.maxPool(activated, 2, 2, 'valid'),
      };
    });
    const names = Object.keys(maps) as (keyof typeof maps)[];
    let values: Float32Array[];
    try {
      values = (await Promise.all(names.map((name) => maps[name].data()))) as Float32Array[];
    } finally {
      tf.dispose(Object.values(maps));
    }
    const v = Object.fromEntries(names.map((name, i) => [name, values[i]!])) as Record<
      keyof typeof maps,
      Float32Array
    >;
    const square = (data: Float32Array, range?: number): Picture => {
      const size = Math.round(Math.sqrt(data.length));
      return featureMapPictures(data, size, size, 1, range === undefined ? {} : { range })[0]!;
    };
    const draw = (id: string, pictures: Picture[]) => {
      for (const [i, p] of pictures.entries()) drawPicture(this.canvases.get(id)![i]!, p);
    };

    draw('kernel', kernelPictures(v.kernel, [5, 5, 1, 1]));
    draw('convolution', [square(input), square(v.stride1, 1), square(v.stride2, 1)]);
    draw('activation', [square(v.stride1, 1), square(v.relu), square(v.sigmoid, 1)]);
    draw('pooling', [square(v.average, 1), square(v.max, 1)]);
    draw('dense', [
      vectorPicture(analysis.layers.C5.values, 12, { range: 1 }),
      vectorPicture(analysis.layers.F6.values, 12, { range: 1 }),
    ]);
    const scores = analysis.layers.output.values;
    this.logits.textContent = ['digit  score  →  probability']
      .concat(
        [...scores].map(
          (s, d) =>
            `  ${d}   ${s.toFixed(2).padStart(6)}  →  ${(analysis.probabilities[d]! * 100).toFixed(1).padStart(5)}%`,
        ),
      )
      .join('\n');
  }
}
