/**
 * The demo page: picks a backend (WebGPU first), loads the shipped weights, and runs every drawing or sample
 * through LeNet-5, showing the prediction, every layer and the seed's concepts.
 */
import { preprocessImages } from '@lenet/data';
import type { LeNet5 } from '@lenet/ops';
import {
  type Analysis,
  analyse,
  type BackendChoice,
  floatPicture,
  grayPicture,
  type LoadedWeights,
  loadWeightsFromUrl,
  parseBackendName,
  preprocessDrawing,
  setupBackend,
} from '@lenet/web';
import * as tf from '@tensorflow/tfjs-core';
import { PredictionBars } from './bars';
import { ConceptsView } from './concepts';
import { DrawPad } from './draw-pad';
import { LayersView } from './layers-view';
import { drawPicture } from './render';
import { loadSamples, type Sample, sampleStrip } from './samples';
import './style.css';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
// Relative to the page, so the built site works under any base path.
const siteRoot = new URL(import.meta.env.BASE_URL, window.location.href);

/** Hooks for the browser tests and `pnpm bench`; nothing on the page uses them. */
interface DemoHooks {
  backend: BackendChoice;
  /** Predicted digit of each 28x28 image, through the page's model and preprocessing. */
  classify(images: Uint8Array[]): Promise<number[]>;
  /** Mean milliseconds of a batch-1 prediction (upload, forward, softmax, read back) over `runs`. */
  benchmark(runs: number): Promise<number>;
}
declare global {
  interface Window {
    lenetDemo?: DemoHooks;
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(window.location.search);
  const backend = await setupBackend({
    backend: parseBackendName(params.get('backend') ?? 'auto'),
    wasmPaths: new URL('tfjs-wasm/', siteRoot).href,
  });
  showBackend(backend);

  const weights = await loadWeightsFromUrl(new URL('weights/model.json', siteRoot).href);
  const { model } = weights;
  byId('model-info').textContent =
    `${model.parameterCount().toLocaleString('en')} parameters, ${model.activation}, ${model.pooling} pooling`;
  const kernel = (await model.params['C1/kernel'].data()) as Float32Array;
  const samples = await loadSamples(new URL('samples.json', siteRoot).href);

  const live = new LiveModel(weights);
  const layers = new LayersView(byId('layers'), kernel);
  const concepts = new ConceptsView(byId('concepts'));
  const bars = new PredictionBars(byId<HTMLOListElement>('bars'));
  const result = byId('result');
  let filter = 0;
  let source: Sample | 'drawing' = 'drawing';
  let requested = 0;
  let running = false;

  const pad = new DrawPad(byId<HTMLCanvasElement>('pad'), () => {
    source = 'drawing';
    strip.select(null);
    update();
  });
  byId('undo').addEventListener('click', () => pad.undo());
  byId('clear').addEventListener('click', () => pad.clear());
  const strip = sampleStrip(byId('samples'), samples, (sample) => {
    pad.clear();
    source = sample;
    strip.select(sample);
    update();
  });
  filterPicker(byId('filter-picker'), (k) => {
    filter = k;
    update();
  });

  /** Runs the model on the latest input; inputs that arrive meanwhile collapse into one more run. */
  function update(): void {
    requested++;
    if (running) return;
    running = true;
    document.body.dataset['busy'] = 'true';
    void (async () => {
      try {
        let done = 0;
        while (done < requested) {
          done = requested;
          await render(done);
        }
      } catch (error) {
        showError(error);
      } finally {
        running = false;
        document.body.dataset['busy'] = 'false';
      }
    })();
  }

  async function render(version: number): Promise<void> {
    const sample = source === 'drawing' ? null : source;
    const prepared = sample
      ? { centred: sample.pixels, input: preprocessImages(sample.pixels, 1, weights.preprocessing) }
      : live.prepareDrawing(pad.imageData());
    if (!prepared) {
      bars.show(null);
      result.textContent = 'Draw a digit or pick a sample below.';
      setResult(result, version, null, 'drawing');
      return;
    }
    drawPicture(byId('step-centred'), grayPicture({ width: 28, height: 28, pixels: prepared.centred }));
    drawPicture(byId('step-input'), floatPicture(prepared.input));
    const analysis = await analyse(model, prepared.input);
    bars.show(analysis.probabilities);
    layers.show(analysis);
    await concepts.show(model, prepared.input, analysis, filter);
    const sure = (analysis.probabilities[analysis.digit]! * 100).toFixed(1);
    result.innerHTML = '';
    result.append('It is a ', strong(String(analysis.digit)), ` (${sure}% sure)`);
    if (sample) result.append(`. MNIST test image ${sample.index} is labelled ${sample.label}.`);
    setResult(result, version, analysis, sample ? `sample:${sample.index}` : 'drawing');
  }

  window.lenetDemo = {
    backend,
    classify: (images) => live.classify(images),
    benchmark: (runs) => live.benchmark(runs),
  };
  document.body.dataset['state'] = 'ready';
  update();
}

/** The model plus the preprocessing its weights were trained with. */
class LiveModel {
  constructor(private readonly weights: LoadedWeights) {}

  get model(): LeNet5 {
    return this.weights.model;
  }

  prepareDrawing(image: ImageData): { centred: Uint8Array; input: Float32Array } | null {
    const steps = preprocessDrawing(image, this.weights.preprocessing, 'alpha');
    return steps && { centred: steps.centred.pixels, input: steps.input };
  }

  async classify(images: Uint8Array[]): Promise<number[]> {
    const flat = new Uint8Array(images.length * 784);
    for (const [i, image] of images.entries()) flat.set(image, i * 784);
    const inputs = preprocessImages(flat, images.length, this.weights.preprocessing);
    const digits = tf.tidy(() =>
      tf.argMax(this.model.predict(tf.tensor4d(inputs, [images.length, 32, 32, 1])), 1),
    );
    try {
      return Array.from(await digits.data());
    } finally {
      digits.dispose();
    }
  }

  async benchmark(runs: number): Promise<number> {
    const input = new Float32Array(1024).map((_, i) => (i % 7) / 7);
    const once = async () => {
      const probabilities = tf.tidy(() => this.model.predict(tf.tensor4d(input, [1, 32, 32, 1])));
      await probabilities.data();
      probabilities.dispose();
    };
    for (let i = 0; i < 3; i++) await once(); // compile shaders, warm caches
    const start = performance.now();
    for (let i = 0; i < runs; i++) await once();
    return (performance.now() - start) / runs;
  }
}

function setResult(element: HTMLElement, version: number, analysis: Analysis | null, source: string): void {
  element.dataset['version'] = String(version);
  element.dataset['digit'] = analysis ? String(analysis.digit) : '';
  element.dataset['source'] = source;
}

function strong(text: string): HTMLElement {
  const element = document.createElement('strong');
  element.textContent = text;
  return element;
}

function showBackend(choice: BackendChoice): void {
  const badge = byId('backend-badge');
  badge.textContent = `running on ${choice.name}`;
  badge.dataset['backend'] = choice.name;
  const notice = byId('fallback-notice');
  if (choice.name === 'webgpu') return;
  const why = choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  notice.textContent =
    choice.requested !== 'auto'
      ? `The ${choice.name} backend was chosen with ?backend=${choice.name}; remove it to use WebGPU where available.`
      : `WebGPU is not available here, so the model runs on ${choice.name} instead (${why}).`;
  notice.hidden = false;
}

function filterPicker(container: HTMLElement, onPick: (filter: number) => void): void {
  const buttons = Array.from({ length: 6 }, (_, k) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = String(k + 1);
    button.setAttribute('role', 'radio');
    button.setAttribute('aria-checked', String(k === 0));
    button.setAttribute('aria-label', `C1 filter ${k + 1}`);
    button.addEventListener('click', () => {
      for (const [i, b] of buttons.entries()) b.setAttribute('aria-checked', String(i === k));
      onPick(k);
    });
    return button;
  });
  container.append(...buttons);
}

function showError(error: unknown): void {
  document.body.dataset['state'] = 'error';
  const element = byId('error');
  element.textContent = `Something went wrong: ${(error as Error).message ?? String(error)}`;
  element.hidden = false;
  console.error(error);
}

main().catch(showError);
