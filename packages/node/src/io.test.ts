import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomValues } from '../../../test-utils/random';
import { CheckpointError, fileSystemHandler, writeFileAtomic } from './io';

let root: string;
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'lenet-node-io-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
let caseNumber = 0;
beforeEach(() => {
  dir = join(root, `case-${++caseNumber}`);
});

/** Real weights of two differently shaped tensors, as a model's save() would hand them over. */
async function sampleArtifacts(): Promise<tf.io.ModelArtifacts> {
  const kernel = tf.tensor4d(randomValues(5 * 5 * 1 * 6, 1), [5, 5, 1, 6]);
  const bias = tf.tensor1d(randomValues(6, 2));
  const { data, specs } = await tf.io.encodeWeights({ 'c1/kernel': kernel, 'c1/bias': bias });
  tf.dispose([kernel, bias]);
  return {
    modelTopology: { name: 'lenet5', layers: ['c1'] },
    format: 'lenet-weights',
    generatedBy: '@lenet/node test',
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: { epoch: 3, testAccuracy: 0.985 },
  };
}

function expectSameWeights(loaded: tf.io.ModelArtifacts, saved: tf.io.ModelArtifacts): void {
  expect(loaded.weightSpecs).toEqual(saved.weightSpecs);
  const a = tf.io.decodeWeights(loaded.weightData!, loaded.weightSpecs!);
  const b = tf.io.decodeWeights(saved.weightData!, saved.weightSpecs!);
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const name of Object.keys(b)) {
    expect(a[name]!.shape).toEqual(b[name]!.shape);
    expect(Array.from(a[name]!.dataSync())).toEqual(Array.from(b[name]!.dataSync()));
  }
  tf.dispose([...Object.values(a), ...Object.values(b)]);
}

describe('writeFileAtomic', () => {
  it('writes and replaces a file, leaving no temporary files behind', async () => {
    await mkdir(dir);
    const path = join(dir, 'out.txt');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, new Uint8Array([104, 105]));
    expect(await readFile(path, 'utf8')).toBe('hi');
    expect(await readdir(dir)).toEqual(['out.txt']);
  });

  it('leaves the destination and the directory untouched when the final rename fails', async () => {
    // A non-empty directory under the final name: the data is written, but rename cannot replace it.
    const path = join(dir, 'taken');
    await mkdir(join(path, 'child'), { recursive: true });
    await expect(writeFileAtomic(path, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
    expect(await readdir(path)).toEqual(['child']);
  });

  it('fails when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'f.txt'), 'x')).rejects.toThrow(/ENOENT/);
  });
});

describe('fileSystemHandler', () => {
  it('saves model.json + weights.bin in the TF.js layout and loads them back', async () => {
    const saved = await sampleArtifacts();
    const result = await fileSystemHandler(dir).save(saved);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe((5 * 5 * 6 + 6) * 4);

    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(modelJson).toEqual({
      modelTopology: saved.modelTopology,
      format: 'lenet-weights',
      generatedBy: '@lenet/node test',
      weightsManifest: [{ paths: ['weights.bin'], weights: saved.weightSpecs }],
      userDefinedMetadata: saved.userDefinedMetadata,
    });
    expect((await readFile(join(dir, 'weights.bin'))).byteLength).toBe((5 * 5 * 6 + 6) * 4);

    const loaded = await fileSystemHandler(dir).load();
    expect(loaded.modelTopology).toEqual(saved.modelTopology);
    expect(loaded.userDefinedMetadata).toEqual(saved.userDefinedMetadata);
    expectSameWeights(loaded, saved);
  });

  it('overwrites an earlier save in place', async () => {
    await fileSystemHandler(dir).save(await sampleArtifacts());
    const second = { ...(await sampleArtifacts()), userDefinedMetadata: { epoch: 4 } };
    await fileSystemHandler(dir).save(second);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await fileSystemHandler(dir).load()).userDefinedMetadata).toEqual({ epoch: 4 });
  });

  it('writes files that tf.io.http loads, as a browser would', async () => {
    const saved = await sampleArtifacts();
    await fileSystemHandler(dir).save(saved);
    const server: Server = createServer(async (request, response) => {
      try {
        response.end(await readFile(join(dir, new URL(request.url!, 'http://x').pathname)));
      } catch {
        response.statusCode = 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const loaded = await tf.io.http(`http://127.0.0.1:${port}/model.json`).load!();
      expect(loaded.userDefinedMetadata).toEqual(saved.userDefinedMetadata);
      expectSameWeights(loaded, saved);
    } finally {
      server.close();
    }
  });

  it('never leaves a model.json without its weights: weights.bin is written first', async () => {
    // Make writing weights.bin fail (a non-empty directory is in its place).
    await mkdir(join(dir, 'weights.bin', 'blocker'), { recursive: true });
    await expect(fileSystemHandler(dir).save(await sampleArtifacts())).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['weights.bin']);
  });

  it('says which directory is missing', async () => {
    const attempt = fileSystemHandler(dir).load();
    await expect(attempt).rejects.toBeInstanceOf(CheckpointError);
    await expect(attempt).rejects.toThrow(`the directory ${dir} does not exist`);
  });

  it('says which model.json is missing', async () => {
    await mkdir(dir);
    await expect(fileSystemHandler(dir).load()).rejects.toThrow(`${join(dir, 'model.json')} does not exist`);
  });

  it('reports a model.json that is not JSON, or not a model', async () => {
    await mkdir(dir);
    await writeFile(join(dir, 'model.json'), '{"weightsManifest": [');
    await expect(fileSystemHandler(dir).load()).rejects.toThrow(
      new RegExp(`^${join(dir, 'model.json')} is not valid JSON`),
    );
    await writeFile(join(dir, 'model.json'), '{"layers": []}');
    await expect(fileSystemHandler(dir).load()).rejects.toThrow(/has no "weightsManifest" array/);
  });

  it('reports a weights.bin whose size does not match the manifest, or that is missing', async () => {
    await fileSystemHandler(dir).save(await sampleArtifacts());
    await truncate(join(dir, 'weights.bin'), 100);
    await expect(fileSystemHandler(dir).load()).rejects.toThrow(
      `${join(dir, 'weights.bin')} holds 100 bytes but the manifest in ${join(dir, 'model.json')} describes 624`,
    );
    await rm(join(dir, 'weights.bin'));
    await expect(fileSystemHandler(dir).load()).rejects.toThrow(
      /lists the weights file .*weights\.bin, which does not exist/,
    );
  });
});
