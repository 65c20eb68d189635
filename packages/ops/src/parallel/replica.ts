import type * as tf from '@tensorflow/tfjs-core';
import { LeNet5 } from '../model';
import { createOptimizer } from '../train';
import {
  applyGradients,
  computeGradients,
  FLAT_PARAMETER_COUNT,
  flatWeights,
  unflattenWeights,
} from './flat-gradients';
import { computeLogits } from './logits';
import { decodeOptimizerState, encodeOptimizerState } from './optimizer-state';
import type { ReplicaReply, ReplicaRequest, ReplicaUpdate } from './protocol';
import { AlternatingFloats, canShareMemory } from './shared-floats';

/** A reply and the buffers to transfer (not copy) with it. */
export interface ReplicaAnswer {
  reply: ReplicaReply;
  transfer: ArrayBuffer[];
}

/**
 * One replica of data-parallel training: a model and the optimizer `createOptimizer` gives, on this
 * thread's tfjs backend, that answers {@link ReplicaRequest}s. Transport-free: a Node worker, a Web
 * Worker or {@link inProcessChannel} passes each incoming message to {@link ReplicaServer.handle} and
 * posts back the answer.
 */
export class ReplicaServer {
  private model: LeNet5 | undefined;
  private optimizer: tf.Optimizer | undefined;
  /** The last request taken in; the next one starts after it is answered. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Where gradients go, on shared memory where it can be posted: the reply then shares it instead
   * of moving a new buffer. Two in turn, because the coordinator may hand one shard's gradients back
   * as the update, which this replica applies at the start of the next step, before it overwrites
   * the other buffer (see shared-floats.ts).
   */
  private readonly gradientBuffers = canShareMemory()
    ? new AlternatingFloats(FLAT_PARAMETER_COUNT)
    : undefined;

  /**
   * Handles one request; failures become an `error` reply rather than a rejection. Requests run one
   * at a time in the order of these calls, and their answers resolve in that order too, so a
   * transport that posts each answer as it resolves keeps the replies in request order.
   */
  handle(request: ReplicaRequest): Promise<ReplicaAnswer> {
    const answer = this.queue.then(() => this.answerOrError(request));
    this.queue = answer;
    return answer;
  }

  /** Frees the model and optimizer once every request taken in so far is answered. */
  async close(): Promise<void> {
    await this.queue;
    this.free();
  }

  private async answerOrError(request: ReplicaRequest): Promise<ReplicaAnswer> {
    try {
      return await this.answer(request);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return { reply: { type: 'error', message: failure.message, stack: failure.stack }, transfer: [] };
    }
  }

  private free(): void {
    this.model?.dispose();
    this.optimizer?.dispose();
    this.model = undefined;
    this.optimizer = undefined;
  }

  private async answer(request: ReplicaRequest): Promise<ReplicaAnswer> {
    switch (request.type) {
      case 'setup': {
        this.free();
        const { modelOptions, optimizer, weights, optimizerState } = request.setup;
        this.model = LeNet5.create(modelOptions);
        if (weights) this.model.setWeights(unflattenWeights(weights));
        this.optimizer = createOptimizer(optimizer.name, optimizer.learningRate);
        if (optimizerState) await decodeOptimizerState(this.optimizer, optimizerState);
        return { reply: { type: 'ready' }, transfer: [] };
      }
      case 'gradients': {
        if (request.update) this.apply(request.update);
        const { loss, gradients, count } = await computeGradients(
          this.ready().model,
          request.x,
          request.labels,
          request.count,
          this.gradientBuffers?.take(),
        );
        return {
          reply: { type: 'gradients', loss, gradients, count },
          transfer: this.gradientBuffers ? [] : [gradients.buffer as ArrayBuffer],
        };
      }
      case 'logits': {
        if (request.update) this.apply(request.update);
        const logits = await computeLogits(this.ready().model, request.x, request.count);
        return {
          reply: { type: 'logits', logits, count: request.count },
          transfer: [logits.buffer as ArrayBuffer],
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
        const state = await encodeOptimizerState(this.ready().optimizer);
        return { reply: { type: 'optimizer-state', state }, transfer: [state.data] };
      }
      default:
        throw new Error(`Unknown replica request '${(request as { type: string }).type}'.`);
    }
  }

  private apply(update: ReplicaUpdate): void {
    const { model, optimizer } = this.ready();
    if (update.learningRate !== undefined) this.setLearningRate(update.learningRate);
    applyGradients(model, optimizer, update.gradients);
  }

  private setLearningRate(learningRate: number): void {
    setOptimizerLearningRate(this.ready().optimizer, learningRate);
  }

  private ready(): { model: LeNet5; optimizer: tf.Optimizer } {
    if (!this.model || !this.optimizer) {
      throw new Error("This replica has no model yet: send a 'setup' request first.");
    }
    return { model: this.model, optimizer: this.optimizer };
  }
}

/**
 * Sets a tfjs optimizer's learning rate for its next steps. SGD and momentum cache it and offer
 * `setLearningRate`; Adam reads its (TypeScript-protected) `learningRate` field on every update.
 */
export function setOptimizerLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new RangeError(`The learning rate must be a positive finite number (got ${learningRate}).`);
  }
  const settable = optimizer as unknown as { learningRate: number; setLearningRate?: (rate: number) => void };
  if (typeof settable.setLearningRate === 'function') settable.setLearningRate(learningRate);
  else settable.learningRate = learningRate;
}
