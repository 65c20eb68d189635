import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { LeNet5, PARAM_NAMES } from '../model';
import { useCpuBackend } from '../test-utils/cpu';
import { expectedOutputs, fixture } from './__fixtures__/fixtures';
import { StateDictMismatchError } from './errors';
import { exportSafetensors, importPyTorchWeights, SEED_PREPROCESSING } from './pytorch-weights';
import { readSafetensors, writeSafetensors } from './safetensors';
import { readTorchCheckpoint } from './torch-checkpoint';

useCpuBackend();

/** Every parameter's float32 bits, to compare models bit for bit. */
async function bitsOf(model: LeNet5): Promise<Uint32Array[]> {
  return Promise.all(
    PARAM_NAMES.map(
      async (name) => new Uint32Array(((await model.params[name].data()) as Float32Array).slice().buffer),
    ),
  );
}

/** ToTensor of PIL's resized bytes: byte / 255 in float32, as an NHWC batch. */
function inputsFromResized(resized: Uint8Array): tf.Tensor4D {
  const values = Float32Array.from(resized, (b) => Math.fround(b / 255));
  return tf.tensor4d(values, [resized.length / 1024, 32, 32, 1]);
}

describe('the seed PyTorch model (fixtures written by PyTorch)', () => {
  const expected = expectedOutputs();

  it.each(['seed-lenet5.pt', 'seed-lenet5.safetensors'])(
    '%s gives PyTorch logits within 1e-4 on real MNIST test images',
    async (file) => {
      const { model, preprocessing, format } = importPyTorchWeights(fixture(file));
      expect(format).toBe(file.endsWith('.pt') ? 'pt' : 'safetensors');
      expect(preprocessing).toEqual(SEED_PREPROCESSING);
      expect([model.activation, model.pooling]).toEqual(['tanh', 'avg']);
      const x = inputsFromResized(expected.resized32);
      const before = tf.memory().numTensors;
      const logits = model.forward(x);
      const probabilities = model.predict(x);
      const ours = (await logits.array()) as number[][];
      const oursP = (await probabilities.array()) as number[][];
      tf.dispose([logits, probabilities]);
      expect(tf.memory().numTensors).toBe(before);
      for (let i = 0; i < ours.length; i++) {
        for (let k = 0; k < 10; k++) {
          expect(Math.abs(ours[i]![k]! - expected.logits[i]![k]!)).toBeLessThan(1e-4);
          expect(Math.abs(oursP[i]![k]! - expected.probabilities[i]![k]!)).toBeLessThan(1e-5);
        }
        const pytorchDigit = expected.logits[i]!.indexOf(Math.max(...expected.logits[i]!));
        expect(ours[i]!.indexOf(Math.max(...ours[i]!))).toBe(pytorchDigit);
      }
      x.dispose();
      model.dispose();
    },
  );

  it('reads the same bits from the .pt and the .safetensors of one state_dict', async () => {
    const pt = importPyTorchWeights(fixture('seed-lenet5.pt')).model;
    const st = importPyTorchWeights(fixture('seed-lenet5.safetensors')).model;
    expect(await bitsOf(pt)).toEqual(await bitsOf(st));
    pt.dispose();
    st.dispose();
  });

  it('exports the .safetensors that PyTorch wrote, byte for byte (PyTorch -> ours -> safetensors)', async () => {
    for (const file of ['seed-lenet5.pt', 'seed-lenet5.safetensors']) {
      const { model, preprocessing } = importPyTorchWeights(fixture(file));
      const exported = await exportSafetensors(model, preprocessing);
      expect(Buffer.from(exported).equals(Buffer.from(fixture('seed-lenet5.safetensors'))), file).toBe(true);
      model.dispose();
    }
  });

  it('leaves tf.memory().numTensors as it was after import, export and dispose', async () => {
    const before = tf.memory().numTensors;
    const { model } = importPyTorchWeights(fixture('seed-lenet5.pt'));
    await exportSafetensors(model, SEED_PREPROCESSING);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ours -> safetensors -> ours', () => {
  it('is bit-identical and records activation, pooling and preprocessing', async () => {
    const original = LeNet5.create({ seed: 7, activation: 'relu', pooling: 'max' });
    const preprocessing = { resize: 'pad' as const, normalize: { mean: 0.1307, std: 0.3081 } };
    const bytes = await exportSafetensors(original, preprocessing);
    const { tensors, metadata } = readSafetensors(bytes);
    expect([...tensors.keys()]).toEqual([
      'conv1.weight',
      'conv1.bias',
      'conv2.weight',
      'conv2.bias',
      'conv3.weight',
      'conv3.bias',
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
    ]);
    expect(tensors.get('conv2.weight')!.shape).toEqual([16, 6, 5, 5]);
    expect(tensors.get('fc1.weight')!.shape).toEqual([84, 120]);
    expect(metadata['format']).toBe('pt');
    const imported = importPyTorchWeights(bytes);
    expect(imported.preprocessing).toEqual(preprocessing);
    expect([imported.model.activation, imported.model.pooling]).toEqual(['relu', 'max']);
    expect(await bitsOf(imported.model)).toEqual(await bitsOf(original));
    original.dispose();
    imported.model.dispose();
  });

  it('maps layouts the way PyTorch indexes them: conv [o,i,h,w] -> HWIO, Linear [out,in] -> [in,out]', async () => {
    const { model } = importPyTorchWeights(fixture('seed-lenet5.pt'));
    const stored = readTorchCheckpoint(fixture('seed-lenet5.pt'));
    const conv2 = new Float32Array(stored.get('conv2.weight')!.bytes.slice().buffer); // [16,6,5,5]
    const fc1 = new Float32Array(stored.get('fc1.weight')!.bytes.slice().buffer); // [84,120]
    const c3 = (await model.params['C3/kernel'].array()) as number[][][][]; // [5,5,6,16]
    const f6 = (await model.params['F6/kernel'].array()) as number[][]; // [120,84]
    const [o, i, h, w] = [13, 4, 1, 3];
    expect(c3[h]![w]![i]![o]).toBe(conv2[((o * 6 + i) * 5 + h) * 5 + w]);
    expect(f6[100]![7]).toBe(fc1[7 * 120 + 100]);
    model.dispose();
  });
});

describe('state_dicts that are not the seed model', () => {
  const seedTensors = () => readSafetensors(fixture('seed-lenet5.safetensors')).tensors;
  const asFloat = (bytes: Uint8Array) => new Float32Array(bytes.slice().buffer);

  function rewritten(
    edit: (tensors: Map<string, { name: string; shape: number[]; values: Float32Array }>) => void,
  ) {
    const tensors = new Map(
      [...seedTensors()].map(([name, t]) => [name, { name, shape: t.shape, values: asFloat(t.bytes) }]),
    );
    edit(tensors);
    return writeSafetensors([...tensors.values()]);
  }

  it('lists every missing, extra and wrong-shaped name in one error and creates no model', () => {
    const bytes = rewritten((tensors) => {
      tensors.delete('fc2.bias');
      tensors.delete('conv1.weight');
      tensors.set('fc3.weight', { name: 'fc3.weight', shape: [2], values: new Float32Array(2) });
      tensors.set('fc1.bias', { name: 'fc1.bias', shape: [80], values: new Float32Array(80) });
    });
    const before = tf.memory().numTensors;
    const error = (() => {
      try {
        importPyTorchWeights(bytes);
      } catch (e) {
        return e;
      }
    })() as StateDictMismatchError;
    expect(error).toBeInstanceOf(StateDictMismatchError);
    expect(error.problems).toHaveLength(4);
    expect(error.message).toMatch(/missing 'conv1\.weight' \(shape \[6,1,5,5\]\)/);
    expect(error.message).toMatch(/missing 'fc2\.bias'/);
    expect(error.message).toMatch(/unexpected 'fc3\.weight'/);
    expect(error.message).toMatch(/'fc1\.bias' has shape \[80\], expected \[84\]/);
    expect(error.message).toMatch(/Nothing was loaded/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an integer dtype, naming it', () => {
    expect(() => importPyTorchWeights(fixture('int64-weights.pt'))).toThrow(
      /'conv1\.weight' has dtype I64; weights must be floating point/,
    );
  });
});
