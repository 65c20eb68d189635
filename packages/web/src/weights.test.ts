import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LeNet5, NonFiniteWeightsError, saveWeights, WeightsFormatError } from '@lenet/ops';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWeightsFromUrl, WeightsLoadError } from './weights';

const preprocessing = { resize: 'bilinear', normalize: null };
let server: Server;
let base: string;
const files = new Map<string, string | Uint8Array>();
/** Routes that answer in their own way (hostile servers). */
const handlers = new Map<string, (request: IncomingMessage, response: ServerResponse) => void>();
/** Every path requested, to show what was (not) fetched. */
const requested: string[] = [];
/** Resolves when the endless weights response is closed (by the client cutting it off). */
let endlessClosed: Promise<number>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const model = LeNet5.create({ seed: 7 });
  let saved: tf.io.ModelArtifacts | undefined;
  await saveWeights(
    model,
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { preprocessing },
  );
  model.dispose();
  const bin = new Uint8Array(saved!.weightData as ArrayBuffer);
  const manifest = (
    weights: tf.io.WeightsManifestEntry[] = saved!.weightSpecs!,
    metadata = saved!.userDefinedMetadata,
    paths: string[] = ['weights.bin'],
  ) =>
    JSON.stringify({
      format: 'lenet5',
      weightsManifest: [{ paths, weights }],
      userDefinedMetadata: metadata,
    });
  files.set('/other/weights.bin', bin);
  files.set('/escape/model.json', manifest(undefined, undefined, ['../other/weights.bin']));
  files.set(
    '/elsewhere/model.json',
    manifest(undefined, undefined, ['http://elsewhere.example/weights.bin']),
  );
  files.set('/declared-too-big/model.json', manifest());
  handlers.set('/declared-too-big/weights.bin', (_request, response) => {
    // Says 1 GB is coming and sends a little: a loader that read on would wait, not refuse.
    response.writeHead(200, { 'content-length': String(10 ** 9) });
    response.write(new Uint8Array(16));
  });
  handlers.set('/huge-manifest/model.json', (_request, response) => {
    response.writeHead(200, { 'content-length': String(17 * 1024 * 1024) });
    response.write('{');
  });
  files.set('/endless/model.json', manifest());
  endlessClosed = new Promise((resolve) => {
    handlers.set('/endless/weights.bin', (_request, response) => {
      // No Content-Length (chunked) and no end: only the client can stop it.
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0;
      let open = true;
      response.on('close', () => {
        open = false;
        resolve(sent);
      });
      const pump = () => {
        while (open && response.write(chunk)) sent += chunk.length;
        if (open) response.once('drain', pump);
      };
      pump();
    });
  });
  const nanBin = bin.slice();
  // C1/bias follows the 150 values of C1/kernel: make its first two values NaN and the third -Infinity.
  new Float32Array(nanBin.buffer, 150 * 4, 3).set([Number.NaN, Number.NaN, Number.NEGATIVE_INFINITY]);
  files.set('/nan/model.json', manifest());
  files.set('/nan/weights.bin', nanBin);
  files.set('/good/model.json', manifest());
  files.set('/good/weights.bin', bin);
  files.set('/no-bin/model.json', manifest());
  files.set('/short/model.json', manifest());
  files.set('/short/weights.bin', bin.subarray(0, 1000));
  files.set('/not-json/model.json', '<html>not found</html>');
  // The same number of bytes in all (C1 gets 50 values more, C5/bias 50 fewer), but shapes LeNet-5 does not have.
  const shapes = saved!.weightSpecs!.map((s) =>
    s.name === 'C1/kernel' ? { ...s, shape: [5, 5, 1, 8] } : s.name === 'C5/bias' ? { ...s, shape: [70] } : s,
  );
  files.set('/wrong-shapes/model.json', manifest(shapes));
  files.set('/wrong-shapes/weights.bin', bin);
  files.set(
    '/bad-preprocessing/model.json',
    manifest(undefined, { ...saved!.userDefinedMetadata, preprocessing: { resize: 'zoom' } }),
  );
  files.set('/bad-preprocessing/weights.bin', bin);
  server = createServer((request, response) => {
    requested.push(request.url ?? '');
    const handler = handlers.get(request.url ?? '');
    if (handler !== undefined) return handler(request, response);
    const body = files.get(request.url ?? '');
    response.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

/** What loading `path` throws, and the paths the server was asked for meanwhile. */
async function loadFailure(path: string): Promise<{ error: Error; fetched: string[] }> {
  const start = requested.length;
  const before = tf.memory().numTensors;
  const error = await loadWeightsFromUrl(`${base}${path}`).then(
    (loaded) => {
      loaded.model.dispose();
      throw new Error(`loading ${path} succeeded, expected a refusal`);
    },
    (e: unknown) => e as Error,
  );
  expect(tf.memory().numTensors).toBe(before);
  expect(error.message).not.toMatch(/\n/);
  return { error, fetched: requested.slice(start) };
}

describe('loadWeightsFromUrl', () => {
  it('loads the exact weights and the recorded preprocessing over HTTP', async () => {
    const before = tf.memory().numTensors;
    const loaded = await loadWeightsFromUrl(`${base}/good/model.json`);
    const reference = LeNet5.create({ seed: 7 });
    expect(await loaded.model.params['C5/kernel'].data()).toEqual(await reference.params['C5/kernel'].data());
    expect(loaded.preprocessing).toEqual(preprocessing);
    expect(loaded.preprocessingRecorded).toBe(true);
    loaded.model.dispose();
    reference.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the HTTP status of a missing manifest or weights file', async () => {
    await expect(loadWeightsFromUrl(`${base}/nowhere/model.json`)).rejects.toThrow(
      /weights manifest http:.*\/nowhere\/model\.json failed with HTTP 404/,
    );
    await expect(loadWeightsFromUrl(`${base}/no-bin/model.json`)).rejects.toThrow(
      /weights file http:.*\/no-bin\/weights\.bin failed with HTTP 404/,
    );
  });

  it('rejects a file that is not a manifest, and weights of the wrong size', async () => {
    await expect(loadWeightsFromUrl(`${base}/not-json/model.json`)).rejects.toThrow(
      /not a TF.js weights manifest: it is not JSON/,
    );
    const short = await loadWeightsFromUrl(`${base}/short/model.json`).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(WeightsLoadError);
    expect((short as Error).message).toMatch(/hold 1000 bytes, but its manifest describes 246824 bytes/);
  });

  it('lists weights of the wrong shapes', async () => {
    const error = await loadWeightsFromUrl(`${base}/wrong-shapes/model.json`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsFormatError);
    expect((error as WeightsFormatError).problems).toEqual([
      "weight 'C1/kernel' has shape [5,5,1,8], expected [5,5,1,6]",
      "weight 'C5/bias' has shape [70], expected [120]",
    ]);
  });

  it('rejects a preprocessing it does not know instead of guessing', async () => {
    const before = tf.memory().numTensors;
    await expect(loadWeightsFromUrl(`${base}/bad-preprocessing/model.json`)).rejects.toThrow(
      /records a preprocessing this package does not know: \{"resize":"zoom"\}/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a manifest path that leaves the folder, before fetching it', async () => {
    const { error, fetched } = await loadFailure('/escape/model.json');
    expect(error).toBeInstanceOf(WeightsLoadError);
    expect(error.message).toMatch(
      new RegExp(
        `^${base}/escape/model\\.json: weightsManifest\\[0\\]\\.paths\\[0\\] '\\.\\./other/weights\\.bin' leaves the model folder; `,
      ),
    );
    expect(fetched).toEqual(['/escape/model.json']);
  });

  it('refuses an absolute URL to another origin, before fetching it', async () => {
    const { error, fetched } = await loadFailure('/elsewhere/model.json');
    expect(error).toBeInstanceOf(WeightsLoadError);
    expect(error.message).toBe(
      `${base}/elsewhere/model.json: weightsManifest[0].paths[0] 'http://elsewhere.example/weights.bin' is a URL, ` +
        'so it leaves the model folder; a weights path must be a file name inside the model folder (letters, ' +
        'digits, ".", "_", "-", with "/" between folder names), as saveWeights writes it',
    );
    expect(fetched).toEqual(['/elsewhere/model.json']);
  });

  it('refuses a response whose Content-Length is over the expected size, without reading it', async () => {
    const { error } = await loadFailure('/declared-too-big/model.json');
    expect(error).toBeInstanceOf(WeightsLoadError);
    expect(error.message).toBe(
      `Fetching the weights file ${base}/declared-too-big/weights.bin stopped: it has more than 246824 bytes, ` +
        `what the manifest ${base}/declared-too-big/model.json describes. Copy model.json and its .bin files ` +
        'from the same training run.',
    );
    const huge = await loadFailure('/huge-manifest/model.json');
    expect(huge.error.message).toMatch(
      /huge-manifest\/model\.json stopped: it has more than 16777216 bytes, the most a model\.json may have/,
    );
  });

  it('cuts off a server that sends more bytes than the manifest describes', async () => {
    const { error } = await loadFailure('/endless/model.json');
    expect(error).toBeInstanceOf(WeightsLoadError);
    expect(error.message).toMatch(/endless\/weights\.bin stopped: it has more than 246824 bytes/);
    // The server's response ends only because the client closed it; bounded by socket buffers, not the limit.
    expect(await endlessClosed).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses weights holding NaN or infinities unless allowed, and then reports them', async () => {
    const { error } = await loadFailure('/nan/model.json');
    expect(error).toBeInstanceOf(NonFiniteWeightsError);
    expect(error.message).toMatch(/'C1\/bias' holds 2 NaN and 1 infinite of its 6 values/);
    const loaded = await loadWeightsFromUrl(`${base}/nan/model.json`, { allowNonFinite: true });
    expect(loaded.nonFinite).toEqual([{ name: 'C1/bias', nan: 2, infinite: 1, size: 6 }]);
    loaded.model.dispose();
  });
});
