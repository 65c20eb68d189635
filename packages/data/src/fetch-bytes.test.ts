import { afterEach, describe, expect, it } from 'vitest';
import { MnistDataError } from './errors';
import { fetchBytes } from './fetch-bytes';
import { MAX_IDX_FILE_BYTES } from './limits';
import { type FileServer, startFileServer } from './test-utils/file-server';
import { makeGzipBomb } from './test-utils/gzip-bomb';

let server: FileServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The error `promise` rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome, 'expected a rejection').toBeInstanceOf(Error);
  return outcome as Error;
}

/** Node's live timers, by kind: a timer left behind would keep the CLI's process alive. */
const liveTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

const body = new Uint8Array(10_000).map((_, i) => i % 251);

describe('fetchBytes timeouts (loopback HTTP server)', () => {
  it('a server that accepts and never answers: no response headers within the timeout, naming the URL', async () => {
    server = await startFileServer({ 'x.gz': { kind: 'silent' } });
    const url = `${server.baseUrl}x.gz`;
    const timersBefore = liveTimers();
    const error = await failure(fetchBytes(url, { headersTimeoutMs: 200 }));
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toBe(
      `No response headers from ${url} within 0.2 s (connecting and waiting for the server to answer). ` +
        'The server is down, overloaded or unreachable; try again later, or use another MNIST source.',
    );
    expect(server.requests).toEqual(['/mnist/x.gz']);
    expect(liveTimers()).toBeLessThanOrEqual(timersBefore);
  });

  it('headers then a stalled body: interrupted after the bytes that came, no data within the stall timeout', async () => {
    server = await startFileServer({ 'x.gz': { kind: 'stall', bytes: body, after: 1000 } });
    const url = `${server.baseUrl}x.gz`;
    const timersBefore = liveTimers();
    const error = await failure(fetchBytes(url, { stallTimeoutMs: 200 }));
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toBe(
      `Download of ${url} was interrupted after 1000 of 10000 bytes (no data for 0.2 s: the server or the ` +
        'network stopped sending). Try again.',
    );
    expect(liveTimers()).toBeLessThanOrEqual(timersBefore);
  });

  it('a body that keeps coming is read whole under both timeouts, and no timer outlives the call', async () => {
    server = await startFileServer({ 'x.gz': { kind: 'bytes', bytes: body } });
    const timersBefore = liveTimers();
    const got = await fetchBytes(`${server.baseUrl}x.gz`, { headersTimeoutMs: 5000, stallTimeoutMs: 5000 });
    expect(Array.from(got)).toEqual(Array.from(body));
    expect(liveTimers()).toBeLessThanOrEqual(timersBefore);
  });
});

describe('fetchBytes size cap (loopback HTTP server)', () => {
  it('a Content-Length over the cap is refused before reading the body', async () => {
    // The server announces 100 MiB and sends nothing: reading the body would wait for the (long) stall
    // timeout, so an immediate size error shows the body was never read.
    const announced = 100 * 1024 * 1024;
    server = await startFileServer({
      'x.gz': { kind: 'stall', bytes: body, after: 0, contentLength: announced },
    });
    const url = `${server.baseUrl}x.gz`;
    const error = await failure(fetchBytes(url, { stallTimeoutMs: 60_000 }));
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toBe(
      `${url} announces ${announced} bytes (Content-Length), more than the ${MAX_IDX_FILE_BYTES}-byte (64 MiB) ` +
        'limit for an MNIST file; not downloading it. It is not an MNIST file: check the base URL, or use ' +
        'another MNIST source.',
    );
  });

  it('a body without Content-Length is counted while streaming and stopped just past the cap', async () => {
    server = await startFileServer({ endless: { kind: 'endless' } });
    const url = `${server.baseUrl}endless`;
    const progress: number[] = [];
    const error = await failure(
      fetchBytes(url, { maxBytes: 1024 * 1024, onProgress: (p) => progress.push(p.receivedBytes) }),
    );
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toBe(
      `${url} sent more than the 1048576-byte (1 MiB) limit for an MNIST file; the download was stopped. ` +
        'It is not an MNIST file: check the base URL, or use another MNIST source.',
    );
    expect(progress.at(-1)).toBeLessThanOrEqual(1024 * 1024);
  });

  it('the default cap is MAX_IDX_FILE_BYTES, and a larger maxBytes cannot raise it', async () => {
    server = await startFileServer({ endless: { kind: 'endless' } });
    const url = `${server.baseUrl}endless`;
    let received = 0;
    const error = await failure(
      fetchBytes(url, { maxBytes: 2 * MAX_IDX_FILE_BYTES, onProgress: (p) => (received = p.receivedBytes) }),
    );
    expect(error.message).toContain(`more than the ${MAX_IDX_FILE_BYTES}-byte (64 MiB) limit`);
    expect(received).toBeGreaterThan(MAX_IDX_FILE_BYTES - 1024 * 1024);
    expect(received).toBeLessThanOrEqual(MAX_IDX_FILE_BYTES);
  });

  it('a body the server gzip-encodes (Content-Encoding) is capped after decoding, not by its wire size', async () => {
    // fetch decodes Content-Encoding by itself, so a small encoded body can be a decompression bomb.
    const bomb = await makeGzipBomb(16 * 1024 * 1024);
    server = await startFileServer({
      x: { kind: 'bytes', bytes: bomb, headers: { 'content-encoding': 'gzip' } },
    });
    const url = `${server.baseUrl}x`;
    const error = await failure(fetchBytes(url, { maxBytes: 1024 * 1024 }));
    expect(error).toBeInstanceOf(MnistDataError);
    expect(error.message).toMatch(
      /sent more than the 1048576-byte \(1 MiB\) limit for an MNIST file; the download was stopped/,
    );
  });
});
