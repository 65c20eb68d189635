import type { ReplicaReply } from './protocol';

/**
 * The requests a channel has sent and not had answered yet. A replica answers in request order, so
 * each reply answers the oldest pending request. After a failure (a crashed or closed worker) every
 * pending and later request rejects with that failure instead of hanging. Transports (worker
 * threads, Web Workers) build their {@link ReplicaChannel} on it.
 */
export class OrderedReplies {
  private readonly pending: { resolve: (reply: ReplicaReply) => void; reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;

  /** Calls `post` to send a request and resolves with the reply that answers it. */
  send(post: () => void): Promise<ReplicaReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      post();
    });
  }

  /** A reply arrived: it answers the oldest pending request. */
  answer(reply: ReplicaReply): void {
    this.pending.shift()?.resolve(reply);
  }

  /** Rejects every pending and later request; returns false when an earlier failure already did. */
  fail(error: Error): boolean {
    const first = this.failure == null;
    this.failure ??= error;
    for (const request of this.pending.splice(0)) request.reject(this.failure);
    return first;
  }
}
