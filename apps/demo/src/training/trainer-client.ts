import type { Preprocessing } from '@lenet/data';
import type { BrowserBackend } from '@lenet/web';
import type { EvaluationView, FromTrainer, ToTrainer, TrainSettings } from './protocol';

type Listener = (message: FromTrainer) => void;

/** The page's handle on its training worker: typed commands out, every message in to the listeners. */
export class TrainerClient {
  private readonly worker: Worker;
  private readonly listeners = new Set<Listener>();
  private readonly evaluations = new Map<number, (evaluation: EvaluationView) => void>();
  private nextId = 1;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly siteRoot: string,
    private readonly backend: BrowserBackend | 'auto',
  ) {
    // This exact form lets Vite find the worker's module and bundle it as a worker.
    this.worker = new Worker(new URL('./trainer-worker.ts', import.meta.url), { type: 'module' });
    this.worker.addEventListener('message', (event: MessageEvent<FromTrainer>) => {
      const message = event.data;
      if (message.type === 'evaluation') {
        this.evaluations.get(message.id)?.(message.evaluation);
        this.evaluations.delete(message.id);
      }
      for (const listener of this.listeners) listener(message);
    });
    this.worker.addEventListener('error', (event) => {
      const message = event.message || 'the training worker did not load';
      for (const listener of this.listeners) listener({ type: 'failed', message });
    });
  }

  listen(listener: Listener): void {
    this.listeners.add(listener);
  }

  /** Sets up the worker's backend and fetches MNIST; resolves when the data is ready, rejects when it failed. */
  load(): Promise<void> {
    this.loading ??= new Promise<void>((resolve, reject) => {
      const settle: Listener = (message) => {
        if (message.type === 'mnist-ready') resolve();
        else if (message.type === 'mnist-failed' || message.type === 'failed') {
          this.loading = undefined; // the next call retries
          reject(new Error(message.message));
        } else return;
        this.listeners.delete(settle);
      };
      this.listen(settle);
      this.send({ type: 'load', siteRoot: this.siteRoot, backend: this.backend });
    });
    return this.loading;
  }

  start(settings: TrainSettings): void {
    this.send({ type: 'start', settings });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.send({ type: 'resume' });
  }

  stop(): void {
    this.send({ type: 'stop' });
  }

  /** Evaluates flat weights on the whole test set in the worker. */
  async evaluate(weights: Float32Array, preprocessing: Preprocessing): Promise<EvaluationView> {
    await this.load();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.evaluations.set(id, resolve);
      this.send({ type: 'evaluate', id, weights, preprocessing });
    });
  }

  private send(message: ToTrainer): void {
    this.worker.postMessage(message);
  }
}
