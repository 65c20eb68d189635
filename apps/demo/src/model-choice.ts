import type { Preprocessing } from '@lenet/data';
import { LeNet5 } from '@lenet/ops';
import { unflattenWeights } from '@lenet/ops/parallel';
import type { LoadedWeights } from '@lenet/web';

/** 'shipped': the weights the site ships; 'yours': the model trained on this page, or loaded from a file. */
export type ModelName = 'shipped' | 'yours';

export interface ModelInUse {
  name: ModelName;
  /** What the page calls it: "the shipped model", "the model trained here", "lenet5.safetensors". */
  label: string;
  weights: Pick<LoadedWeights, 'model' | 'preprocessing'>;
}

/** 'switched': another model is in use now; 'updated': the model in use has new weights (it is training). */
export type ModelChange = 'switched' | 'updated';

/**
 * Which model the draw pad, the layer views, the concepts and the mistakes use, and the switch that picks it.
 * The shipped model is always there; "yours" appears once training sends weights or a file is loaded.
 */
export class ModelChoice {
  private readonly shipped: ModelInUse;
  private yours: ModelInUse | null = null;
  /** Whether "yours" is the model training sends weights to (not one loaded from a file). */
  private yoursIsTraining = false;
  private current: ModelInUse;
  /** A replaced model, disposed one replacement later so that a render still using it can finish. */
  private retired: LeNet5 | null = null;
  private readonly listeners: ((change: ModelChange) => void)[] = [];
  private readonly radios: Record<ModelName, HTMLInputElement>;

  constructor(shipped: LoadedWeights) {
    this.shipped = { name: 'shipped', label: 'the shipped model', weights: shipped };
    this.current = this.shipped;
    this.radios = {
      shipped: document.getElementById('model-shipped') as HTMLInputElement,
      yours: document.getElementById('model-yours') as HTMLInputElement,
    };
    for (const name of ['shipped', 'yours'] as const) {
      this.radios[name].addEventListener('change', () => {
        if (this.radios[name].checked) this.use(name);
      });
    }
    this.sync();
  }

  get inUse(): ModelInUse {
    return this.current;
  }

  onChange(listener: (change: ModelChange) => void): void {
    this.listeners.push(listener);
  }

  use(name: ModelName): void {
    const next = name === 'yours' && this.yours ? this.yours : this.shipped;
    if (next === this.current) return;
    this.current = next;
    this.sync();
    this.emit('switched');
  }

  /**
   * Takes the weights training sent (flat, in PARAM_NAMES order) into "yours", and returns its model. The first
   * weights of a run switch the page to it, so one watches it learn; later ones only update it.
   */
  setTrained(flat: Float32Array, preprocessing: Preprocessing): LeNet5 {
    const first = !(this.yoursIsTraining && this.yours);
    if (first) {
      this.replaceYours({
        name: 'yours',
        label: 'the model trained here',
        weights: { model: LeNet5.create(), preprocessing },
      });
      this.yoursIsTraining = true;
    }
    const yours = this.yours!;
    yours.weights.model.setWeights(unflattenWeights(flat));
    if (first) {
      this.current = yours;
      this.sync();
      this.emit('switched');
    } else if (this.current === yours) {
      this.emit('updated');
    }
    return yours.weights.model;
  }

  /** Makes weights loaded from a file "yours", and uses them. */
  setLoaded(weights: LoadedWeights, label: string): void {
    this.replaceYours({ name: 'yours', label, weights });
    this.yoursIsTraining = false;
    this.current = this.yours!;
    this.sync();
    this.emit('switched');
  }

  private replaceYours(next: ModelInUse): void {
    this.retired?.dispose();
    this.retired = this.yours?.weights.model ?? null;
    this.yours = next;
  }

  private sync(): void {
    this.radios.yours.disabled = this.yours === null;
    this.radios[this.current.name].checked = true;
    const label = document.getElementById('model-yours-label');
    if (label) label.textContent = this.yours ? this.yours.label : 'yours (train or load one)';
  }

  private emit(change: ModelChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
