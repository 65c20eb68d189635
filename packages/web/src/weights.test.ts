import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LeNet5, saveWeights, WeightsFormatError } from '@lenet/ops';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWeightsFromUrl, WeightsLoadError } from './weights';

const preprocessing = { resize: 'bilinear', normalize: null };
let server: Server;
let base: string;
const files = new Map<string, string | Uint8Array>();

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
  ) =>
    JSON.stringify({
      format: 'lenet5',
      weightsManifest: [{ paths: ['weights.bin'], weights }],
      userDefinedMetadata: metadata,
    });
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
    const body = files.get(request.url ?? '');
    response.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

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
});
