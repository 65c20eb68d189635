import type { ReplicaChannel } from './coordinator';
import { ReplicaServer } from './replica';

/**
 * A {@link ReplicaChannel} to a replica on this thread, on its current tfjs backend: training on one
 * thread is the coordinator over one of these. Requests are answered one at a time, in order, as a
 * worker answers them. Nothing is copied: the replica reads a request's arrays where they are, so
 * they must stay unchanged until it answers (the coordinator's do).
 */
export function inProcessChannel(): ReplicaChannel {
  const server = new ReplicaServer();
  let closed = false;
  return {
    sameThread: true,
    async request(request) {
      if (closed) throw new Error('This in-process replica was closed; start a new coordinator.');
      return (await server.handle(request)).reply;
    },
    async close() {
      closed = true;
      await server.close();
    },
  };
}
