/**
 * The demo page: picks a backend (WebGPU first), loads the shipped weights, and runs every drawing or sample
 * through LeNet-5, showing the prediction, why (saliency), every layer and the seed's concepts. The Train panel
 * trains another LeNet-5 in a worker (training/), and the page can switch to it, load weights from a file,
 * download them, and show the test digits the model in use gets wrong.
 */
import { type Preprocessing, preprocessImages, RECIPES } from '@lenet/data';
import { type LeNet5, saliency } from '@lenet/ops';
import { flatWeights } from '@lenet/ops/parallel';
import {
  type Analysis,
  analyse,
  type BackendChoice,
  featureMapPictures,
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
import { MistakesView } from './mistakes-view';
import { ModelChoice, type ModelName } from './model-choice';
import { drawPicture } from './render';
import { loadSamples, type Sample, sampleStrip } from './samples';
import type { BackendReport, EvaluationView } from './training/protocol';
import { TrainPanel } from './training/train-panel';
import { TrainerClient } from './training/trainer-client';
import { WeightsPanel } from './weights-panel';
import './style.css';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
// Relative to the page, so the built site works under any base path.
const siteRoot = new URL(import.meta.env.BASE_URL, window.location.href);

/** The current drawing's saliency, for the tests: the 32x32 input, d score / d input, and the digit explained. */
interface SaliencyHook {
  input: number[];
  gradient: number[];
  digit: number;
}

/** Hooks for the browser tests and `pnpm bench`; nothing on the page uses them. */
interface DemoHooks {
  backend: BackendChoice;
  /** Predicted digit of each 28x28 image, through the model in use and its preprocessing. */
  classify(images: Uint8Array[]): Promise<number[]>;
  /** Mean milliseconds of a batch-1 prediction (upload, forward, softmax, read back) over `runs`. */
  benchmark(runs: number): Promise<number>;
  modelInUse(): ModelName;
  saliency(): SaliencyHook | null;
}
declare global {
  interface Window {
    lenetDemo?: DemoHooks;
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(window.location.search);
  const requested = parseBackendName(params.get('backend') ?? 'auto');
  const backend = await setupBackend({ backend: requested, wasmPaths: new URL('tfjs-wasm/', siteRoot).href });
  showBackend(backend);

  const shipped = await loadWeightsFromUrl(new URL('weights/model.json', siteRoot).href);
  const samples = await loadSamples(new URL('samples.json', siteRoot).href);

  const models = new ModelChoice(shipped);
  const trainer = new TrainerClient(siteRoot.href, requested);
  const layers = new LayersView(byId('layers'));
  const concepts = new ConceptsView(byId('concepts'));
  const bars = new PredictionBars(byId<HTMLOListElement>('bars'));
  const result = byId('result');
  let filter = 0;
  let source: Sample | 'drawing' = 'drawing';
  let requestedRenders = 0;
  let running = false;
  let lastSaliency: SaliencyHook | null = null;

  const pad = new DrawPad(byId<HTMLCanvasElement>('pad'), () => {
    source = 'drawing';
    strip.select(null);
    update();
  });
  byId('undo').addEventListener('click', () => pad.undo());
  byId('clear').addEventListener('click', () => pad.clear());
  const strip = sampleStrip(byId('samples'), samples, (sample) => show(sample));
  filterPicker(byId('filter-picker'), (k) => {
    filter = k;
    update();
  });

  /** Loads a test digit (a sample, or one from the mistakes gallery) into the pad's place and the layer views. */
  function show(sample: Sample): void {
    pad.clear();
    source = sample;
    strip.select(sample);
    update();
  }

  const mistakes = new MistakesView(byId('mistakes-section'), (mistake) => {
    show(mistake);
    byId('draw-title').scrollIntoView({ behavior: 'smooth' });
  });
  const evaluations = new Map<LeNet5, EvaluationView>();
  let dataRequested = false;

  /** The mistakes of the model in use: from its last evaluation, or a fresh one once MNIST is here. */
  async function showMistakes(): Promise<void> {
    const inUse = models.inUse;
    const known = evaluations.get(inUse.weights.model);
    const training = document.body.dataset['training'] !== 'idle';
    if (known || !dataRequested || (inUse.name === 'yours' && training)) {
      const hint = training
        ? 'The model being trained reads the test set after each epoch; its mistakes appear here then.'
        : 'Read the test set (the button above, or train) to see where this model goes wrong.';
      mistakes.show(known ?? null, inUse.label, hint);
      return;
    }
    mistakes.show(null, inUse.label, `Reading the 10,000 test digits with ${inUse.label}…`);
    const evaluation = await trainer.evaluate(
      await flatWeights(inUse.weights.model),
      inUse.weights.preprocessing,
    );
    evaluations.set(inUse.weights.model, evaluation);
    if (models.inUse === inUse) mistakes.show(evaluation, inUse.label, '');
  }
  byId('mistakes-evaluate').addEventListener('click', () => {
    dataRequested = true;
    void panel
      .loadData()
      .then(showMistakes)
      .catch(() => {});
  });

  models.onChange((change) => {
    update();
    if (change === 'switched') void showMistakes().catch(showError);
  });
  const panel = new TrainPanel(trainer, {
    onWeights: (weights) => models.setTrained(weights, RECIPES.default.preprocessing),
    onEpoch(report, weights) {
      dataRequested = true;
      const model = models.setTrained(weights, RECIPES.default.preprocessing);
      evaluations.set(model, report.evaluation);
      if (models.inUse.weights.model === model) mistakes.show(report.evaluation, models.inUse.label, '');
    },
    onFinished(weights, stopped) {
      const model = models.setTrained(weights, RECIPES.default.preprocessing);
      // A stopped run's last weights are newer than its last evaluation.
      if (stopped) evaluations.delete(model);
      void showMistakes().catch(showError);
    },
  });
  new WeightsPanel(models);
  trainer.listen((message) => {
    if (message.type === 'backend') showTrainingBackend(message.backend);
    if (message.type === 'mnist-ready') dataRequested = true;
  });

  /** Runs the model on the latest input; inputs that arrive meanwhile collapse into one more run. */
  function update(): void {
    requestedRenders++;
    if (running) return;
    running = true;
    document.body.dataset['busy'] = 'true';
    void (async () => {
      try {
        let done = 0;
        while (done < requestedRenders) {
          done = requestedRenders;
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
    const { model, preprocessing } = models.inUse.weights;
    const kernel = (await model.params['C1/kernel'].data()) as Float32Array;
    const sample = source === 'drawing' ? null : source;
    const prepared = sample
      ? { centred: sample.pixels, input: preprocessImages(sample.pixels, 1, preprocessing) }
      : prepareDrawing(pad.imageData(), preprocessing);
    if (!prepared) {
      bars.show(null);
      lastSaliency = null;
      clearCanvas(byId('step-saliency'));
      result.textContent = 'Draw a digit or pick a sample below.';
      setResult(result, version, null, 'drawing');
      return;
    }
    drawPicture(byId('step-centred'), grayPicture({ width: 28, height: 28, pixels: prepared.centred }));
    drawPicture(byId('step-input'), floatPicture(prepared.input));
    const analysis = await analyse(model, prepared.input);
    const why = await saliency(model, prepared.input);
    lastSaliency = {
      input: Array.from(prepared.input),
      gradient: Array.from(why.gradient),
      digit: why.digit,
    };
    drawPicture(byId('step-saliency'), featureMapPictures(why.gradient, 32, 32, 1)[0]!);
    bars.show(analysis.probabilities);
    layers.show(analysis, kernel);
    await concepts.show(model, prepared.input, analysis, filter);
    const sure = (analysis.probabilities[analysis.digit]! * 100).toFixed(1);
    result.innerHTML = '';
    result.append('It is a ', strong(String(analysis.digit)), ` (${sure}% sure)`);
    if (sample) result.append(`. MNIST test image ${sample.index} is labelled ${sample.label}.`);
    setResult(result, version, analysis, sample ? `sample:${sample.index}` : 'drawing');
  }

  window.lenetDemo = {
    backend,
    classify: (images) => classify(models.inUse.weights, images),
    benchmark: (runs) => benchmark(models.inUse.weights.model, runs),
    modelInUse: () => models.inUse.name,
    saliency: () => lastSaliency,
  };
  models.onChange(() => {
    document.body.dataset['model'] = models.inUse.name;
  });
  document.body.dataset['model'] = models.inUse.name;
  document.body.dataset['state'] = 'ready';
  update();
  void showMistakes();
}

function prepareDrawing(image: ImageData, preprocessing: Preprocessing) {
  const steps = preprocessDrawing(image, preprocessing, 'alpha');
  return steps && { centred: steps.centred.pixels, input: steps.input };
}

async function classify(
  weights: Pick<LoadedWeights, 'model' | 'preprocessing'>,
  images: Uint8Array[],
): Promise<number[]> {
  const flat = new Uint8Array(images.length * 784);
  for (const [i, image] of images.entries()) flat.set(image, i * 784);
  const inputs = preprocessImages(flat, images.length, weights.preprocessing);
  const digits = tf.tidy(() =>
    tf.argMax(weights.model.predict(tf.tensor4d(inputs, [images.length, 32, 32, 1])), 1),
  );
  try {
    return Array.from(await digits.data());
  } finally {
    digits.dispose();
  }
}

/** Mean milliseconds of a batch-1 prediction (upload, forward, softmax, read back) over `runs`. */
async function benchmark(model: LeNet5, runs: number): Promise<number> {
  const input = new Float32Array(1024).map((_, i) => (i % 7) / 7);
  const once = async () => {
    const probabilities = tf.tidy(() => model.predict(tf.tensor4d(input, [1, 32, 32, 1])));
    await probabilities.data();
    probabilities.dispose();
  };
  for (let i = 0; i < 3; i++) await once(); // compile shaders, warm caches
  const start = performance.now();
  for (let i = 0; i < runs; i++) await once();
  return (performance.now() - start) / runs;
}

function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
}

function showTrainingBackend(report: BackendReport): void {
  const element = byId('train-backend');
  element.dataset['backend'] = report.name;
  element.dataset['replicas'] = String(report.replicas);
  const where = report.replicas > 1 ? `${report.replicas} Web Workers, one per core` : 'one Web Worker';
  const skipped = report.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  element.textContent =
    `Training runs on ${report.name} (${report.device}), in ${where}.` +
    (skipped ? ` Skipped ${skipped}.` : '');
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
