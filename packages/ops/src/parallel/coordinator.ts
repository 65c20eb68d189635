import { type EvaluateOptions, EvaluationMetrics, type EvaluationResult } from '../evaluate';
import { INPUT_SIZE, NUM_CLASSES } from '../model';
import { NonFiniteLossError } from '../train';
import { FLAT_PARAMETER_COUNT, type ShardGradients, shardRanges, sumShardGradients } from './flat-gradients';
import type { OptimizerState, ReplicaReply, ReplicaRequest, ReplicaSetup, ReplicaUpdate } from './protocol';
import { AlternatingFloats, canShareMemory, SharedFloatPool } from './shared-floats';

/**
 * A connection to one replica: sends a request, resolves with its reply (replies come in request
 * order). {@link inProcessChannel} is one on this thread; `@lenet/node` has them over worker_threads,
 * `@lenet/web` over Web Workers.
 */
export interface ReplicaChannel {
  request(request: ReplicaRequest, transfer?: ArrayBuffer[]): Promise<ReplicaReply>;
  /**
   * True when requests reach the replica as they are, on this thread, without being cloned or
   * transferred: the coordinator then lends it views of the caller's arrays instead of copies.
   */
  readonly sameThread?: boolean;
  /** Ends the replica; resolves once it is gone. */
  close(): Promise<void>;
}

/** Options of {@link ParallelCoordinator.evaluate}: `evaluate`'s, and how many images a replica takes at once. */
export interface ParallelEvaluateOptions extends EvaluateOptions {
  /** Images each replica computes in one request (default 1000, `lenet eval`'s batch). */
  batchSize?: number;
}

/** Thrown when a replica answers a request with an error; `replica` is its index. */
export class ReplicaError extends Error {
  readonly replica: number;
  constructor(replica: number, message: string) {
    super(message);
    this.name = 'ReplicaError';
    this.replica = replica;
  }
}

/**
 * Data-parallel training over replicas that each hold the same model and optimizer. Each step
 * splits the batch into one shard per replica, every replica computes its shard's gradient, the
 * coordinator sums them weighted by shard size (the whole batch's gradient, up to float rounding)
 * and every replica applies that same sum, so all weights stay identical without being sent.
 * The sum travels with the next request (the next step's, or a read), which saves a round trip
 * per step: replicas handle requests in order, so whatever comes next sees the update applied.
 */
export class ParallelCoordinator {
  private readonly channels: readonly ReplicaChannel[];
  private steps = 0;
  private closed = false;
  /** The last step's update, not yet sent to the replicas. */
  private pending: ReplicaUpdate | undefined;
  /**
   * Where memory can be shared with the replicas' threads (shared-floats.ts): each replica's images
   * go through shared buffers lent per request, and the summed gradients into two shared arrays in
   * turn (an update is applied at the start of the next step, before the next sum overwrites it).
   */
  private readonly shared: { inputs: SharedFloatPool[]; sums: AlternatingFloats } | undefined;

  private constructor(channels: readonly ReplicaChannel[]) {
    this.channels = channels;
    this.shared = canShareMemory()
      ? {
          inputs: channels.map(() => new SharedFloatPool()),
          sums: new AlternatingFloats(FLAT_PARAMETER_COUNT),
        }
      : undefined;
  }

  /**
   * Sets every replica up identically and resolves once all are ready. The coordinator owns the
   * channels from then on: {@link ParallelCoordinator.close} closes them, and so does a failed start.
   */
  static async start(channels: readonly ReplicaChannel[], setup: ReplicaSetup): Promise<ParallelCoordinator> {
    if (channels.length === 0) throw new RangeError('Data-parallel training needs at least one replica.');
    const coordinator = new ParallelCoordinator(channels);
    try {
      await coordinator.all(() => ({ type: 'setup', setup }));
    } catch (error) {
      await coordinator.close();
      throw error;
    }
    return coordinator;
  }

  /** Number of replicas. */
  get replicas(): number {
    return this.channels.length;
  }

  /**
   * One training step on `count` images (`x`: count·32·32 floats, NHWC) and their class ids.
   * Resolves with the batch's mean loss once the gradients are summed; the update reaches every replica
   * with the next request, before anything else it does. `learningRate`, when given, applies from this
   * step on; it rides along with the update, so a schedule costs no extra round trip.
   * Leave `x` unchanged until the step resolves: a replica on this thread reads it where it is.
   * @throws NonFiniteLossError when the loss is NaN or infinite (no replica is updated).
   */
  async step(
    x: Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    learningRate?: number,
  ): Promise<number> {
    this.assertOpen();
    const pixels = INPUT_SIZE * INPUT_SIZE;
    if (!(Number.isInteger(count) && count >= 1) || x.length < count * pixels || labels.length < count) {
      throw new RangeError(
        `A training step needs ${count} images (${count * pixels} floats) and ${count} labels; got ` +
          `${x.length} floats and ${labels.length} labels. Pass count >= 1 and arrays at least that long.`,
      );
    }
    const ranges = shardRanges(count, this.channels.length);
    const update = this.pending;
    this.pending = undefined;
    // A batch smaller than the replica count leaves some without a shard: they get the update alone.
    const idle = this.applyToIdle(ranges.length, update);
    const [shards] = await Promise.all([
      Promise.all(
        ranges.map(async ([start, end], replica): Promise<ShardGradients> => {
          const channel = this.channels[replica]!;
          const shardLabels = Int32Array.from(labels.subarray(start, end));
          const reply = expectReply(
            replica,
            await this.withShard(replica, x.subarray(start * pixels, end * pixels), (shardX, transfer) =>
              channel.request(
                { type: 'gradients', x: shardX, labels: shardLabels, count: end - start, update },
                transfer,
              ),
            ),
            'gradients',
          );
          return { loss: reply.loss, gradients: reply.gradients, count: reply.count };
        }),
      ),
      idle,
    ]);
    const { loss, gradients } = sumShardGradients(
      shards,
      shards.length > 1 ? this.shared?.sums.take() : undefined,
    );
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss, this.steps + 1);
    this.pending = { gradients, learningRate };
    this.steps++;
    return loss;
  }

  /**
   * Forward only: the logits of `count` images (`x`: count·32·32 floats, NHWC) with the current weights,
   * count·10 floats, row-major, in image order (image i's at [10·i, 10·i + 10)). The images are split
   * across the replicas as a step's are, each computes its shard's logits, and the answers are put
   * together in order; with one replica its answer comes back as it is. The last step's update rides
   * along, so nothing waits for it. Each image's logits are the model's own for that image; split or
   * not, a backend that computes images independently (wasm's and cpu's do) gives the same bits.
   * Nothing stays behind on any replica. Leave `x` unchanged until it resolves, as with a step.
   */
  async logits(x: Float32Array, count: number): Promise<Float32Array> {
    this.assertOpen();
    const pixels = INPUT_SIZE * INPUT_SIZE;
    if (!(Number.isInteger(count) && count >= 1) || x.length < count * pixels) {
      throw new RangeError(
        `Logits of ${count} images need ${count * pixels} floats; got ${x.length}. ` +
          'Pass count >= 1 and an array at least that long.',
      );
    }
    const ranges = shardRanges(count, this.channels.length);
    const update = this.pending;
    this.pending = undefined;
    const idle = this.applyToIdle(ranges.length, update);
    const [shards] = await Promise.all([
      Promise.all(ranges.map(([start, end], replica) => this.shardLogits(replica, x, start, end, update))),
      idle,
    ]);
    if (shards.length === 1) return shards[0]!;
    const logits = new Float32Array(count * NUM_CLASSES);
    shards.forEach((shard, i) => {
      logits.set(shard, ranges[i]![0] * NUM_CLASSES);
    });
    return logits;
  }

  /**
   * `evaluate` of `@lenet/ops` on the replicas: loss, accuracy, confusion matrix and, with
   * `options.mistakes`, the worst mistakes of the current weights on `count` images (`x`: count·32·32
   * floats) and their labels. The images go to the replicas in pieces of `options.batchSize`, each to
   * the next free replica (the last step's update rides along with the first), and the metrics come
   * from {@link EvaluationMetrics}, in image order, as `evaluate`'s do: the same logits give the same
   * result, bit for bit, on any number of replicas. Leave `x` unchanged until it resolves.
   * @throws RangeError on bad counts or options, or a label that is not a class id.
   */
  async evaluate(
    x: Float32Array,
    labels: Uint8Array | Int32Array,
    count: number,
    options: ParallelEvaluateOptions = {},
  ): Promise<EvaluationResult> {
    this.assertOpen();
    const metrics = new EvaluationMetrics(options);
    const batchSize = options.batchSize ?? 1000;
    const pixels = INPUT_SIZE * INPUT_SIZE;
    if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) {
      throw new RangeError(`evaluate: options.batchSize must be a whole number >= 1; got ${batchSize}.`);
    }
    if (!(Number.isInteger(count) && count >= 1) || x.length < count * pixels || labels.length < count) {
      throw new RangeError(
        `evaluate needs ${count} images (${count * pixels} floats) and ${count} labels; got ${x.length} ` +
          `floats and ${labels.length} labels. Pass count >= 1 and arrays at least that long.`,
      );
    }
    // Pieces of batchSize images go to whichever replica is free, two in flight on each (one computing,
    // one on its way), so a replica slowed by other work on its core takes fewer pieces instead of
    // holding up the others. Their logits are counted in image order as they complete.
    const update = this.pending;
    this.pending = undefined;
    const updated = this.channels.map(() => false);
    const pieces = Math.ceil(count / batchSize);
    const finished = new Map<number, Float32Array>();
    let taken = 0;
    let counted = 0;
    let failure: { error: unknown } | undefined;
    const lane = async (replica: number) => {
      while (failure === undefined && taken < pieces) {
        const piece = taken++;
        const start = piece * batchSize;
        const first = !updated[replica];
        updated[replica] = true;
        try {
          const end = Math.min(start + batchSize, count);
          finished.set(piece, await this.shardLogits(replica, x, start, end, first ? update : undefined));
          for (let ready = finished.get(counted); ready; ready = finished.get(counted)) {
            finished.delete(counted);
            const from = counted * batchSize;
            metrics.add(ready, labels.subarray(from, Math.min(from + batchSize, count)));
            counted++;
          }
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    const lanes: Promise<void>[] = [];
    for (let depth = 0; depth < 2; depth++) {
      for (let replica = 0; replica < this.channels.length; replica++) lanes.push(lane(replica));
    }
    await Promise.all(lanes);
    // Fewer pieces than replicas: those that got none still apply the update.
    await Promise.all(
      this.channels.map(async (channel, replica) => {
        if (updated[replica] || update === undefined) return;
        expectReply(replica, await channel.request({ type: 'apply', ...update }), 'done');
      }),
    );
    if (failure) throw failure.error;
    return metrics.result();
  }

  /** Sets the optimizer's learning rate on every replica, for the following steps. */
  async setLearningRate(learningRate: number): Promise<void> {
    this.assertOpen();
    await this.flush();
    await this.all(() => ({ type: 'set-learning-rate', learningRate }));
  }

  /** The current weights, flat in PARAM_NAMES order (identical on every replica; read from the first). */
  async getWeights(): Promise<Float32Array> {
    this.assertOpen();
    await this.flush();
    return expectReply(0, await this.channels[0]!.request({ type: 'get-weights' }), 'weights').weights;
  }

  /** The optimizer's state (identical on every replica; read from the first), for checkpoints. */
  async getOptimizerState(): Promise<OptimizerState> {
    this.assertOpen();
    await this.flush();
    return expectReply(0, await this.channels[0]!.request({ type: 'get-optimizer-state' }), 'optimizer-state')
      .state;
  }

  /** Ends every replica. Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.channels.map((channel) => channel.close()));
  }

  /**
   * Images [start, end) of `x` to one replica for their logits, after `update` when given: a copy whose
   * buffer moves to another thread (as a step's shard does), a view on this one.
   */
  private async shardLogits(
    replica: number,
    x: Float32Array,
    start: number,
    end: number,
    update: ReplicaUpdate | undefined,
  ): Promise<Float32Array> {
    const channel = this.channels[replica]!;
    const pixels = INPUT_SIZE * INPUT_SIZE;
    const reply = expectReply(
      replica,
      await this.withShard(replica, x.subarray(start * pixels, end * pixels), (shardX, transfer) =>
        channel.request({ type: 'logits', x: shardX, count: end - start, update }, transfer),
      ),
      'logits',
    );
    if (reply.logits.length !== (end - start) * NUM_CLASSES) {
      throw new ReplicaError(
        replica,
        `Replica ${replica} failed: it answered ${reply.logits.length} logits for ${end - start} images.`,
      );
    }
    return reply.logits;
  }

  /**
   * Runs `send` with a shard of the caller's images as replica `replica` should get them, and the
   * buffers to transfer with it. On this thread, a view: the replica is done with it once it
   * answers. On another, a copy, so the caller keeps its arrays: in a shared buffer lent until the
   * reply comes where memory can be shared, else in a new buffer that moves there.
   */
  private async withShard<T>(
    replica: number,
    images: Float32Array,
    send: (shardX: Float32Array, transfer: ArrayBuffer[]) => Promise<T>,
  ): Promise<T> {
    if (this.channels[replica]!.sameThread) return send(images, []);
    const pool = this.shared?.inputs[replica];
    if (pool === undefined) {
      const copy = images.slice();
      return send(copy, [copy.buffer as ArrayBuffer]);
    }
    const lent = pool.lend(images);
    try {
      return await send(lent, []);
    } finally {
      pool.giveBack(lent);
    }
  }

  /** Sends the pending update, if any, to every replica, and waits until all have applied it. */
  private async flush(): Promise<void> {
    const update = this.pending;
    if (update === undefined) return;
    this.pending = undefined;
    await this.all(() => ({ type: 'apply', ...update }));
  }

  /**
   * Sends `update`, when there is one, to the replicas from `busy` on, which get no shard of a batch
   * smaller than the replica count, so every replica applies every update. Resolves once they have.
   */
  private async applyToIdle(busy: number, update: ReplicaUpdate | undefined): Promise<void> {
    if (update === undefined || busy >= this.channels.length) return;
    const replies = await Promise.all(
      this.channels.slice(busy).map((channel) => channel.request({ type: 'apply', ...update })),
    );
    replies.forEach((reply, i) => {
      expectReply(busy + i, reply, 'done');
    });
  }

  /** Sends one request to every replica and checks each answers `done`/`ready`. */
  private async all(request: () => ReplicaRequest): Promise<void> {
    const replies = await Promise.all(this.channels.map((channel) => channel.request(request())));
    replies.forEach((reply, replica) => {
      if (reply.type === 'error')
        throw new ReplicaError(replica, `Replica ${replica} failed: ${reply.message}`);
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('This coordinator was closed; start a new one.');
  }
}

/** The reply narrowed to `type`, or a {@link ReplicaError} saying what came instead. */
function expectReply<T extends ReplicaReply['type']>(
  replica: number,
  reply: ReplicaReply,
  type: T,
): Extract<ReplicaReply, { type: T }> {
  if (reply.type === type) return reply as Extract<ReplicaReply, { type: T }>;
  const detail = reply.type === 'error' ? reply.message : `an unexpected '${reply.type}' reply`;
  throw new ReplicaError(replica, `Replica ${replica} failed: ${detail}`);
}
