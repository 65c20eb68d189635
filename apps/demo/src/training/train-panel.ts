import { LineChart } from './line-chart';
import { FULL_PRESET, QUICK_PRESET } from './presets';
import type { EpochReport, FromTrainer, TrainSettings } from './protocol';
import type { TrainerClient } from './trainer-client';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

type RunState = 'idle' | 'loading' | 'training' | 'pausing' | 'paused' | 'stopping';

/**
 * The Train panel: settings (a preset, then epochs, batch size, learning rate, distortions), start, pause,
 * resume and stop, the data download, progress, and live charts of the training loss and test accuracy.
 */
export class TrainPanel {
  private readonly lossChart: LineChart;
  private readonly accuracyChart: LineChart;
  private readonly controls = {
    preset: byId<HTMLSelectElement>('train-preset'),
    epochs: byId<HTMLInputElement>('train-epochs'),
    batchSize: byId<HTMLInputElement>('train-batch'),
    learningRate: byId<HTMLInputElement>('train-lr'),
    trainImages: byId<HTMLInputElement>('train-images'),
    augment: byId<HTMLInputElement>('train-augment'),
    start: byId<HTMLButtonElement>('train-start'),
    pause: byId<HTMLButtonElement>('train-pause'),
    resume: byId<HTMLButtonElement>('train-resume'),
    stop: byId<HTMLButtonElement>('train-stop'),
  };
  private readonly status = byId('train-status');
  private readonly progress = byId('train-progress');
  private readonly epochLog = byId<HTMLOListElement>('epoch-log');
  private readonly mnistBar = byId<HTMLProgressElement>('mnist-progress');
  private readonly mnistStatus = byId('mnist-status');
  private readonly retry = byId<HTMLButtonElement>('mnist-retry');

  constructor(
    private readonly trainer: TrainerClient,
    private readonly hooks: {
      onEpoch(report: EpochReport, weights: Float32Array): void;
      onWeights(weights: Float32Array): void;
      onFinished(weights: Float32Array, stopped: boolean): void;
    },
  ) {
    const charts = byId('train-charts');
    this.lossChart = new LineChart(charts, 'Training loss (mean over the epoch so far)', {
      format: (y) => y.toFixed(2),
    });
    this.accuracyChart = new LineChart(charts, 'Test accuracy after each epoch', {
      yRange: [0.9, 1],
      format: (y) => `${(100 * y).toFixed(0)}%`,
      dots: true,
    });
    this.applyPreset();
    this.controls.preset.addEventListener('change', () => this.applyPreset());
    this.controls.start.addEventListener('click', () => void this.start());
    this.controls.pause.addEventListener('click', () => {
      this.setState('pausing');
      trainer.pause();
    });
    this.controls.resume.addEventListener('click', () => trainer.resume());
    this.controls.stop.addEventListener('click', () => {
      this.setState('stopping');
      trainer.stop();
    });
    this.retry.addEventListener('click', () => void this.loadData().catch(() => {}));
    trainer.listen((message) => this.hear(message));
    this.setState('idle');
  }

  /** Fetches MNIST into the worker (once; again after a failure). */
  async loadData(): Promise<void> {
    this.retry.hidden = true;
    this.mnistStatus.dataset['state'] = 'loading';
    this.mnistStatus.textContent = 'Fetching MNIST…';
    await this.trainer.load();
  }

  private applyPreset(): void {
    const preset = this.controls.preset.value === 'full' ? FULL_PRESET : QUICK_PRESET;
    this.controls.epochs.value = String(preset.epochs);
    this.controls.batchSize.value = String(preset.batchSize);
    this.controls.learningRate.value = String(preset.learningRate);
    this.controls.trainImages.value = String(preset.trainImages);
    this.controls.augment.checked = preset.augment;
  }

  /** The settings the form holds, or why they cannot be used. */
  private settings(): TrainSettings | string {
    const whole = (input: HTMLInputElement, min: number, max: number, name: string) => {
      const n = Number(input.value);
      return Number.isInteger(n) && n >= min && n <= max
        ? n
        : `${name} must be a whole number from ${min} to ${max}`;
    };
    const epochs = whole(this.controls.epochs, 1, 100, 'Epochs');
    const batchSize = whole(this.controls.batchSize, 1, 1024, 'Batch size');
    const trainImages = whole(this.controls.trainImages, 1, 60_000, 'Training images');
    const learningRate = Number(this.controls.learningRate.value);
    for (const value of [epochs, batchSize, trainImages]) if (typeof value === 'string') return value;
    if (!(Number.isFinite(learningRate) && learningRate > 0 && learningRate < 1)) {
      return 'The learning rate must be a number between 0 and 1, such as 0.003';
    }
    return {
      epochs: epochs as number,
      batchSize: batchSize as number,
      learningRate,
      trainImages: trainImages as number,
      augment: this.controls.augment.checked,
      seed: QUICK_PRESET.seed,
    };
  }

  private async start(): Promise<void> {
    const settings = this.settings();
    if (typeof settings === 'string') {
      this.status.textContent = `${settings}.`;
      return;
    }
    this.setState('loading');
    try {
      await this.loadData();
    } catch {
      this.setState('idle');
      return;
    }
    this.lossChart.clear();
    this.accuracyChart.clear();
    this.epochLog.replaceChildren();
    this.progress.dataset['step'] = '0';
    this.progress.textContent = '';
    this.setState('training');
    this.trainer.start(settings);
  }

  private hear(message: FromTrainer): void {
    switch (message.type) {
      case 'mnist-progress': {
        this.mnistBar.max = message.totalBytes;
        this.mnistBar.value = message.receivedBytes;
        const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
        this.mnistStatus.textContent = message.fromCache
          ? 'Reading MNIST from this browser’s cache…'
          : `Fetching MNIST: ${mb(message.receivedBytes)} of ${mb(message.totalBytes)} MB`;
        break;
      }
      case 'mnist-ready':
        this.mnistBar.value = this.mnistBar.max;
        this.mnistStatus.dataset['state'] = 'ready';
        this.mnistStatus.dataset['source'] = message.fromCache ? 'cache' : 'network';
        this.mnistStatus.textContent =
          `MNIST ready: ${message.train.toLocaleString('en')} training and ${message.test.toLocaleString('en')} ` +
          `test digits, checked against the official SHA-256 hashes${message.fromCache ? ', from this browser’s cache' : ''}.`;
        break;
      case 'mnist-failed':
        this.mnistStatus.dataset['state'] = 'failed';
        this.mnistStatus.textContent = `MNIST could not be loaded: ${message.message}`;
        this.retry.hidden = false;
        break;
      case 'progress': {
        const p = message.progress;
        this.progress.dataset['step'] = String(p.step);
        this.progress.textContent =
          `epoch ${p.epoch}/${p.epochs}, step ${p.step.toLocaleString('en')}/${p.totalSteps.toLocaleString('en')}, ` +
          `loss ${p.loss.toFixed(3)}, ${Math.round(p.imagesPerSecond).toLocaleString('en')} images/s, ` +
          `about ${formatSeconds(p.etaSeconds)} left`;
        this.lossChart.add(p.step, p.loss, `step ${p.step}`);
        break;
      }
      case 'weights':
        this.hooks.onWeights(message.weights);
        break;
      case 'epoch': {
        const { report } = message;
        const e = report.evaluation;
        this.accuracyChart.add(report.epoch, e.accuracy, `epoch ${report.epoch}`);
        const item = document.createElement('li');
        item.dataset['epoch'] = String(report.epoch);
        item.dataset['accuracy'] = String(e.accuracy);
        item.textContent =
          `epoch ${report.epoch}/${report.epochs}: train loss ${report.trainLoss.toFixed(4)}, ` +
          `test loss ${e.loss.toFixed(4)}, test accuracy ${(100 * e.accuracy).toFixed(2)}%`;
        this.epochLog.append(item);
        this.hooks.onEpoch(report, message.weights);
        break;
      }
      case 'paused':
        this.progress.dataset['step'] = String(message.step);
        this.setState('paused');
        break;
      case 'resumed':
        this.setState('training');
        break;
      case 'finished':
        this.progress.dataset['step'] = String(message.step);
        this.status.textContent = message.stopped
          ? `Stopped after step ${message.step}. The model trained so far is yours: use it, or download it.`
          : 'Done. The trained model is in use; download it below, or train again.';
        this.setState('idle');
        this.hooks.onFinished(message.weights, message.stopped);
        break;
      case 'failed':
        this.status.textContent = `Training failed: ${message.message}`;
        this.setState('idle');
        break;
    }
  }

  private setState(state: RunState): void {
    document.body.dataset['training'] = state;
    const { start, pause, resume, stop } = this.controls;
    start.disabled = state !== 'idle';
    pause.disabled = state !== 'training';
    resume.disabled = state !== 'paused';
    stop.disabled = !(state === 'training' || state === 'paused' || state === 'pausing');
    for (const input of [
      this.controls.preset,
      this.controls.epochs,
      this.controls.batchSize,
      this.controls.learningRate,
      this.controls.trainImages,
      this.controls.augment,
    ]) {
      input.disabled = state !== 'idle';
    }
    if (state === 'training') this.status.textContent = 'Training in a worker: keep drawing meanwhile.';
    if (state === 'paused') this.status.textContent = 'Paused. Resume goes on from the same step.';
  }
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '…';
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
