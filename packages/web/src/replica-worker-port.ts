import type { BackendOptions } from './backend';

/**
 * What the replica code needs of a Web Worker from the page's side: a `Worker` is one, and so is a
 * wrapper around a `MessagePort`.
 */
export interface ReplicaWorker {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message' | 'messageerror' | 'error', listener: (event: Event) => void): void;
  removeEventListener(type: 'message' | 'messageerror' | 'error', listener: (event: Event) => void): void;
  terminate(): void;
}

/** What the replica code needs of the worker's own side: its global scope, or the other `MessagePort`. */
export interface ReplicaWorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** A replica worker's first message from the page: how to set up its backend (see `setupBackend`). */
export type ReplicaWorkerStart = Pick<BackendOptions, 'backend' | 'wasmPaths'>;

/** A replica worker's first answer: its backend is up, or why not. */
export type ReplicaWorkerStarted = { type: 'ready' } | { type: 'error'; message: string };
