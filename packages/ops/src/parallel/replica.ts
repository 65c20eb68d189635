import * as tf from '@tensorflow/tfjs-core';
import { FusedAdamUpdate } from '../kernel-names';
import { LeNet5 } from '../model';
import { createOptimizer } from '../train';
import { FlatAdam } from './flat-adam';
import { applyGradients, computeGradients, flatWeights, unflattenWeights } from './flat-gradients';
import { decodeOptimizerState, encodeOptimizerState } from './optimizer-state';
import type { ReplicaReply, ReplicaRequest, ReplicaUpdate } from './protocol';

/** A reply and the buffers to transfer (not copy) with it. */
export interface ReplicaAnswer {
  reply: ReplicaReply;
  transfer: ArrayBuffer[];
}

/** A tfjs optimizer, or FlatAdam with the flat weights it updates. */
type Updater = { optimizer: tf.Optimizer } | { adam: FlatAdam; weights: Float32Array };

/**
 * One replica of data-parallel training: a model and optimizer on this thread's tfjs backend that
 * answers {@link ReplicaRequest}s. Transport-free: a Node worker or a Web Worker passes each
 * incoming message to {@link ReplicaServer.handle} and posts back the answer, in order.
 */
export class ReplicaServer {
  private model: LeNet5 | undefined;
  /**
   * What applies the updates: a tfjs optimizer, or for Adam on a backend without the fused Adam
   * kernel a {@link FlatAdam} on flat copies of the weights, uploaded after each step (the same
   * float32 results as tfjs's Adam, in one pass instead of about a hundred kernels).
   */
  private updater: Updater | undefined;

  /** Handles one request; failures become an `error` reply rather than a rejection. */
  async handle(request: ReplicaRequest): Promise<ReplicaAnswer> {
    try {
      return await this.answer(request);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return { reply: { type: 'error', message: failure.message, stack: failure.stack }, transfer: [] };
    }
  }

  /** Frees the model and optimizer. */
  dispose(): void {
    this.model?.dispose();
    if (this.updater && 'optimizer' in this.updater) this.updater.optimizer.dispose();
    this.model = undefined;
    this.updater = undefined;
  }

  private async answer(request: ReplicaRequest): Promise<ReplicaAnswer> {
    switch (request.type) {
      case 'setup': {
        this.dispose();
        const { modelOptions, optimizer, weights, optimizerState } = request.setup;
        this.model = LeNet5.create(modelOptions);
        if (weights) this.model.setWeights(unflattenWeights(weights));
        const tfjsOptimizer = createOptimizer(optimizer.name, optimizer.learningRate);
        if (optimizerState) await decodeOptimizerState(tfjsOptimizer, optimizerState);
        // Where the backend fuses Adam (wasm), createOptimizer's Adam is faster than FlatAdam in JS.
        const fusedAdam = tf.getKernel(FusedAdamUpdate, tf.getBackend()) != null;
        if (optimizer.name === 'adam' && !fusedAdam) {
          // FlatAdam takes over the state; the tfjs Adam only brought it in.
          const adam = await FlatAdam.fromOptimizer(tfjsOptimizer, this.model);
          tfjsOptimizer.dispose();
          this.updater = { adam, weights: await flatWeights(this.model) };
        } else {
          this.updater = { optimizer: tfjsOptimizer };
        }
        return { reply: { type: 'ready' }, transfer: [] };
      }
      case 'gradients': {
        if (request.update) this.apply(request.update);
        const { loss, gradients, count } = await computeGradients(
          this.ready().model,
          request.x,
          request.labels,
          request.count,
        );
        return {
          reply: { type: 'gradients', loss, gradients, count },
          transfer: [gradients.buffer as ArrayBuffer],
        };
      }
      case 'apply': {
        this.apply(request);
        return { reply: { type: 'done' }, transfer: [] };
      }
      case 'set-learning-rate': {
        this.setLearningRate(request.learningRate);
        return { reply: { type: 'done' }, transfer: [] };
      }
      case 'get-weights': {
        const weights = await flatWeights(this.ready().model);
        return { reply: { type: 'weights', weights }, transfer: [weights.buffer as ArrayBuffer] };
      }
      case 'get-optimizer-state': {
        const { model, updater } = this.ready();
        const state =
          'adam' in updater
            ? await this.encodeFlatAdamState(updater.adam, model)
            : await encodeOptimizerState(updater.optimizer);
        return { reply: { type: 'optimizer-state', state }, transfer: [state.data] };
      }
      default:
        throw new Error(`Unknown replica request '${(request as { type: string }).type}'.`);
    }
  }

  /** FlatAdam's state in tfjs's format, through a throwaway tfjs Adam (its setWeights leaks old slots). */
  private async encodeFlatAdamState(adam: FlatAdam, model: LeNet5) {
    const carrier = createOptimizer('adam', adam.learningRate);
    try {
      await adam.writeTo(carrier, model);
      return await encodeOptimizerState(carrier);
    } finally {
      carrier.dispose();
    }
  }

  private apply(update: ReplicaUpdate): void {
    const { model, updater } = this.ready();
    if (update.learningRate !== undefined) this.setLearningRate(update.learningRate);
    if ('adam' in updater) {
      updater.adam.step(updater.weights, update.gradients);
      model.setWeights(unflattenWeights(updater.weights));
    } else {
      applyGradients(model, updater.optimizer, update.gradients);
    }
  }

  private setLearningRate(learningRate: number): void {
    const { updater } = this.ready();
    if ('adam' in updater) updater.adam.learningRate = checkedLearningRate(learningRate);
    else setOptimizerLearningRate(updater.optimizer, learningRate);
  }

  private ready(): { model: LeNet5; updater: Updater } {
    if (!this.model || !this.updater) {
      throw new Error("This replica has no model yet: send a 'setup' request first.");
    }
    return { model: this.model, updater: this.updater };
  }
}

/** `learningRate`, or a RangeError when it is not a positive finite number. */
function checkedLearningRate(learningRate: number): number {
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new RangeError(`The learning rate must be a positive finite number (got ${learningRate}).`);
  }
  return learningRate;
}

/**
 * Sets a tfjs optimizer's learning rate for its next steps. SGD and momentum cache it and offer
 * `setLearningRate`; Adam reads its (TypeScript-protected) `learningRate` field on every update.
 */
export function setOptimizerLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  checkedLearningRate(learningRate);
  const settable = optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
  if (typeof settable.setLearningRate === 'function') settable.setLearningRate(learningRate);
  else settable.learningRate = learningRate;
}
