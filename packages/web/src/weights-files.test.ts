import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { type Preprocessing, preprocessImages, SEED_PREPROCESSING } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';
import { LeNet5, PARAM_NAMES, saveWeights } from '@lenet/ops';
import { exportSafetensors, leNetToStateDict, writeSafetensors } from '@lenet/ops/pytorch';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREPROCESSING, WeightsLoadError } from './weights';
import {
  WEIGHTS_FILE_NAMES,
  type WeightsFileInput,
  weightsDownloads,
  weightsFromFiles,
} from './weights-files';

/** A fixture of @lenet/ops written by PyTorch (packages/ops/scripts/make-pytorch-fixtures.py). */
function opsFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../ops/src/pytorch/__fixtures__/${name}`, import.meta.url)));
}

const expected = JSON.parse(new TextDecoder().decode(opsFixture('expected.json'))) as {
  logits: number[][];
  resized32Base64: string;
};

/** Every parameter's float32 bits, to compare models bit for bit. */
async function bitsOf(model: LeNet5): Promise<Uint32Array[]> {
  return Promise.all(
    PARAM_NAMES.map(
      async (name) => new Uint32Array(((await model.params[name].data()) as Float32Array).slice().buffer),
    ),
  );
}

/** A real grayscale PNG of a 28x28 image (signature, IHDR, one IDAT, IEND), to rename to .safetensors. */
function png(pixels: Uint8Array, size: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    out.set(data, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit gray, deflate, no interlace
  const rows = Buffer.alloc(size * (size + 1));
  for (let y = 0; y < size; y++) rows.set(pixels.subarray(y * size, (y + 1) * size), y * (size + 1) + 1);
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(rows)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

function file(name: string, bytes: Uint8Array): WeightsFileInput {
  return { name, bytes };
}

/** Expects `weightsFromFiles(files)` to fail with a WeightsLoadError of one line that names `name` and matches `what`. */
async function expectRefused(files: WeightsFileInput[], name: string, what: RegExp): Promise<string> {
  const error = await weightsFromFiles(files).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, name).toBeInstanceOf(WeightsLoadError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  expect(message).toContain(name);
  expect(message).toMatch(what);
  return message;
}

describe('weightsDownloads and weightsFromFiles', () => {
  let test: { images: Uint8Array; count: number } | undefined;
  let seed: LeNet5;
  // Not the default: loading it back must find it in the files, not assume it.
  const preprocessing: Preprocessing = { resize: 'bilinear', normalize: { mean: 0.25, std: 0.5 } };

  beforeAll(async () => {
    await tf.setBackend('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const mnist = await loadEmbeddedMnist();
    const count = 200;
    const images = mnist.test.images.subarray(0, count * 784);
    test = { images, count };
    seed = (await weightsFromFiles([file('seed-lenet5.pt', opsFixture('seed-lenet5.pt'))])).model;
  });
  afterAll(() => {
    seed.dispose();
  });

  /** The model's logits for `count` real MNIST test images preprocessed as `p`. */
  async function logits(model: LeNet5, p: Preprocessing = SEED_PREPROCESSING): Promise<Float32Array> {
    const x = tf.tensor4d(preprocessImages(test!.images, test!.count, p), [test!.count, 32, 32, 1]);
    const out = model.forward(x);
    const values = (await out.data()) as Float32Array;
    tf.dispose([x, out]);
    return values;
  }

  it("loads the seed's PyTorch .pt and gives PyTorch's logits on real MNIST test images", async () => {
    for (const name of ['seed-lenet5.pt', 'seed-lenet5.pth', 'seed-lenet5.safetensors']) {
      const bytes = opsFixture(name.endsWith('.safetensors') ? name : 'seed-lenet5.pt');
      const loaded = await weightsFromFiles([file(name, bytes)]);
      expect(loaded.format).toBe(name.endsWith('.safetensors') ? 'safetensors' : 'pt');
      expect(loaded.preprocessing).toEqual(SEED_PREPROCESSING);
      // The seed's .safetensors fixture records it, as exportSafetensors does; a .pt cannot.
      expect(loaded.preprocessingRecorded).toBe(name.endsWith('.safetensors'));
      expect(loaded.nonFinite).toEqual([]);
      const resized = new Uint8Array(Buffer.from(expected.resized32Base64, 'base64'));
      const x = tf.tensor4d(
        Float32Array.from(resized, (b) => b / 255),
        [8, 32, 32, 1],
      );
      const out = loaded.model.forward(x);
      const ours = (await out.array()) as number[][];
      tf.dispose([x, out]);
      for (let i = 0; i < 8; i++) {
        for (let k = 0; k < 10; k++)
          expect(Math.abs(ours[i]![k]! - expected.logits[i]![k]!)).toBeLessThan(1e-4);
      }
      loaded.model.dispose();
    }
  });

  it('downloads model.json, weights.bin and lenet5.safetensors, which load back to identical predictions', async () => {
    const downloads = await weightsDownloads(seed, preprocessing, { recipe: 'seed', seed: 1 });
    expect(downloads.map((d) => [d.name, d.type])).toEqual([
      ['model.json', 'application/json'],
      ['weights.bin', 'application/octet-stream'],
      ['lenet5.safetensors', 'application/octet-stream'],
    ]);
    expect(Object.values(WEIGHTS_FILE_NAMES)).toEqual(downloads.map((d) => d.name));
    const [modelJson, weightsBin, safetensors] = downloads;
    expect(weightsBin!.bytes.byteLength).toBe(seed.parameterCount() * 4);
    // The safetensors is exportSafetensors' (what PyTorch's load_file reads into the seed's LeNet_5).
    expect(
      Buffer.from(safetensors!.bytes).equals(Buffer.from(await exportSafetensors(seed, preprocessing))),
    ).toBe(true);

    const reference = await logits(seed, preprocessing);
    // The trained seed model reads these digits: a round trip that broke the weights would show.
    const predicted = tf.tidy(() => tf.argMax(tf.tensor2d(reference, [test!.count, 10]), 1).dataSync());
    const labels = (await loadEmbeddedMnist()).test.labels.subarray(0, test!.count);
    expect(predicted.filter((p, i) => p === labels[i]).length).toBeGreaterThan(0.9 * test!.count);

    const asBytes = [modelJson!, weightsBin!].map((d) => file(d.name, d.bytes));
    // A browser's File objects, in the other order: read only after their sizes passed.
    const asFiles = [weightsBin!, modelJson!].map((d) => new File([d.bytes], d.name));
    for (const files of [asBytes, asFiles, [file(safetensors!.name, safetensors!.bytes)]]) {
      const loaded = await weightsFromFiles(files);
      expect(loaded.format).toBe(files.length === 1 ? 'safetensors' : 'tfjs');
      expect(loaded.preprocessing).toEqual(preprocessing);
      expect(loaded.preprocessingRecorded).toBe(true);
      if (loaded.format === 'tfjs') expect(loaded.metadata).toMatchObject({ recipe: 'seed', seed: 1 });
      expect(await bitsOf(loaded.model)).toEqual(await bitsOf(seed));
      expect(await logits(loaded.model, loaded.preprocessing)).toEqual(reference);
      loaded.model.dispose();
    }
  });

  it('keeps the activation and pooling of a variant, and assumes the default preprocessing for TF.js without one', async () => {
    const variant = LeNet5.create({ activation: 'relu', pooling: 'max', seed: 5 });
    const downloads = (await weightsDownloads(variant, DEFAULT_PREPROCESSING)).map((d) =>
      file(d.name, d.bytes),
    );
    for (const files of [downloads.slice(0, 2), downloads.slice(2)]) {
      const loaded = await weightsFromFiles(files);
      expect([loaded.model.activation, loaded.model.pooling]).toEqual(['relu', 'max']);
      expect(await logits(loaded.model)).toEqual(await logits(variant));
      loaded.model.dispose();
    }
    // A model.json that records no preprocessing (saved by saveWeights without one).
    let saved: tf.io.ModelArtifacts | undefined;
    await saveWeights(
      variant,
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
    // Its manifest names the file inside a folder: a browser gives only the file's name, which matches.
    const json = {
      weightsManifest: [{ paths: ['run/weights.bin'], weights: saved!.weightSpecs }],
      userDefinedMetadata: saved!.userDefinedMetadata,
    };
    const loaded = await weightsFromFiles([
      file('model.json', new TextEncoder().encode(JSON.stringify(json))),
      file('weights.bin', new Uint8Array(tf.io.CompositeArrayBuffer.join(saved!.weightData))),
    ]);
    expect(loaded.preprocessing).toEqual(DEFAULT_PREPROCESSING);
    expect(loaded.preprocessingRecorded).toBe(false);
    loaded.model.dispose();
    variant.dispose();
  });

  it('refuses every bad input with one WeightsLoadError line naming the file, and leaks no tensor', async () => {
    const [modelJson, weightsBin, safetensors] = await weightsDownloads(seed, preprocessing);
    const json = () => JSON.parse(new TextDecoder().decode(modelJson!.bytes));
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const bin = weightsBin!.bytes;
    const mnist = await loadEmbeddedMnist();
    const random = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
    const wrongShape = leNetToStateDict(
      Object.fromEntries(
        await Promise.all(PARAM_NAMES.map(async (n) => [n, (await seed.params[n].data()) as Float32Array])),
      ),
    ).map((t) =>
      t.name === 'conv1.weight'
        ? { ...t, shape: [6, 1, 25, 1] }
        : t.name === 'fc2.bias'
          ? { name: t.name, shape: [9], values: t.values.slice(0, 9) }
          : t,
    );
    const transposedSpec = json();
    transposedSpec.weightsManifest[0].weights[0].shape = [5, 5, 6, 1];
    const hostilePath = json();
    hostilePath.weightsManifest[0].paths = ['../weights.bin'];
    const unknownPreprocessing = json();
    unknownPreprocessing.userDefinedMetadata.preprocessing = { resize: 'nearest', normalize: null };
    const notLeNet = json();
    notLeNet.userDefinedMetadata.format = 'keras';
    const pt = opsFixture('seed-lenet5.pt');

    const caller = LeNet5.create({ seed: 9 });
    const callerBits = await bitsOf(caller);
    await weightsFromFiles([file('seed-lenet5.pt', pt)]).then((l) => l.model.dispose()); // warm-up
    const before = tf.memory().numTensors;

    await expectRefused([], 'No file', /model\.json.*\.safetensors.*\.pt/);
    await expectRefused(
      [file('model.json', modelJson!.bytes), file('weights.bin', bin.slice(0, -4))],
      'weights.bin',
      /truncated/,
    );
    await expectRefused(
      [file('model.json', modelJson!.bytes), file('weights.bin', new Uint8Array([...bin, 0]))],
      'weights.bin',
      /too long/,
    );
    await expectRefused(
      [file('model.json', modelJson!.bytes)],
      'model.json',
      /needs its weights file 'weights\.bin'.*not chosen/,
    );
    await expectRefused([file('weights.bin', bin)], 'weights.bin', /without their model\.json/);
    await expectRefused(
      [file('model.json', modelJson!.bytes), file('weights.bin', bin), file('notes.txt', new Uint8Array(3))],
      'notes.txt',
      /not listed in model\.json/,
    );
    await expectRefused([file('model.json', bin), file('weights.bin', bin)], 'model.json', /not JSON/);
    await expectRefused(
      [file('model.json', encode({ hello: 1 })), file('weights.bin', bin)],
      'model.json',
      /no weightsManifest/,
    );
    await expectRefused(
      [file('model.json', encode(hostilePath)), file('weights.bin', bin)],
      'model.json',
      /leaves the model folder/,
    );
    await expectRefused(
      [file('model.json', encode(transposedSpec)), file('weights.bin', bin)],
      'model.json',
      /'C1\/kernel' has shape \[5,5,6,1\]/,
    );
    await expectRefused(
      [file('model.json', encode(notLeNet)), file('weights.bin', bin)],
      'model.json',
      /format is "keras"/,
    );
    await expectRefused(
      [file('model.json', encode(unknownPreprocessing)), file('weights.bin', bin)],
      'model.json',
      /preprocessing/,
    );
    await expectRefused(
      [
        file('model.json', modelJson!.bytes),
        file('weights.bin', bin),
        file(safetensors!.name, safetensors!.bytes),
      ],
      'lenet5.safetensors',
      /two formats/,
    );
    await expectRefused(
      [file('digit.safetensors', png(mnist.test.images.subarray(0, 784), 28))],
      'digit.safetensors',
      /neither a PyTorch \.pt \(zip\) nor a \.safetensors/,
    );
    await expectRefused([file('garbage.pt', random)], 'garbage.pt', /cannot be read as PyTorch weights/);
    await expectRefused(
      [file('truncated.pt', pt.slice(0, pt.length >> 1))],
      'truncated.pt',
      /cannot be read as PyTorch weights/,
    );
    await expectRefused(
      [file('truncated.safetensors', safetensors!.bytes.slice(0, -100))],
      'truncated.safetensors',
      /cannot be read/,
    );
    await expectRefused(
      [file('wrong.safetensors', writeSafetensors(wrongShape))],
      'wrong.safetensors',
      /not the seed's LeNet-5 state_dict: 'conv1\.weight' has shape \[6,1,25,1\], expected \[6,1,5,5\]; 'fc2\.bias' has shape \[9\]/,
    );
    await expectRefused([file('weights.h5', pt)], 'weights.h5', /unknown extension/);
    await expectRefused([file('a.pt', pt), file('b.pt', pt)], 'a.pt and b.pt', /choose one/);

    // Caps come before reading: a File-like of 1 GiB is refused without arrayBuffer() ever being called.
    const huge = (name: string) => ({
      name,
      size: 2 ** 30,
      arrayBuffer: () => Promise.reject(new Error('read')),
    });
    await expectRefused([huge('big.safetensors')], 'big.safetensors', /more than/);
    await expectRefused([huge('model.json'), file('weights.bin', bin)], 'model.json', /more than/);
    await expectRefused(
      [file('model.json', modelJson!.bytes), huge('weights.bin')],
      'weights.bin',
      /describes/,
    );

    expect(tf.memory().numTensors).toBe(before);
    // Failed loads touch no model the caller has.
    expect(await bitsOf(caller)).toEqual(callerBits);
    caller.dispose();
  });

  it('refuses weights that hold NaN or infinity, in both formats, unless allowNonFinite', async () => {
    const broken = LeNet5.create({ seed: 2 });
    const weights = broken.getWeights();
    const values = (await weights['C3/bias'].data()) as Float32Array;
    values[3] = Number.NaN;
    values[4] = Number.POSITIVE_INFINITY;
    broken.setWeights({ ...weights, 'C3/bias': values });
    tf.dispose(weights);
    const downloads = await weightsDownloads(broken, preprocessing);
    broken.dispose();
    const tfjs = downloads.slice(0, 2).map((d) => file(d.name, d.bytes));
    const safetensors = [file(downloads[2]!.name, downloads[2]!.bytes)];

    const before = tf.memory().numTensors;
    for (const [files, name] of [
      [tfjs, 'model.json'],
      [safetensors, 'lenet5.safetensors'],
    ] as const) {
      await expectRefused([...files], name, /'C3\/bias' holds 1 NaN and 1 infinite of its 16 values/);
      const loaded = await weightsFromFiles(files, { allowNonFinite: true });
      expect(loaded.nonFinite).toEqual([{ name: 'C3/bias', nan: 1, infinite: 1, size: 16 }]);
      loaded.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
