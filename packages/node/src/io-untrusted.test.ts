import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeNet5, loadWeights, saveWeights } from '@lenet/ops';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError, fileSystemHandler } from './io';

// Model folders from strangers: every way a model.json can point at files it must not read.

const WEIGHT_BYTES = 246824;
let root: string;
let dir: string;
let modelJsonPath: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'lenet-node-untrusted-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
let caseNumber = 0;
beforeEach(async () => {
  // Each case: root/case-N/model (the model folder) next to root/case-N/secret.bin (a file it must not read).
  const caseDir = join(root, `case-${++caseNumber}`);
  dir = join(caseDir, 'model');
  modelJsonPath = join(dir, 'model.json');
  const model = LeNet5.create({ seed: 3 });
  await saveWeights(model, fileSystemHandler(dir));
  model.dispose();
  await writeFile(join(caseDir, 'secret.bin'), new Uint8Array(WEIGHT_BYTES).fill(7));
});

/** Rewrites the saved model.json through `edit`, as a stranger could. */
async function editModelJson(
  edit: (json: { weightsManifest: { paths: unknown; weights: unknown[] }[] }) => void,
) {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  edit(json);
  await writeFile(modelJsonPath, JSON.stringify(json));
}

/** The error loading `dir` through loadWeights gives; checks that it is one line and that no tensor leaked. */
async function loadFailure(): Promise<CheckpointError> {
  const before = tf.memory().numTensors;
  const error = await loadWeights(fileSystemHandler(dir)).catch((e: unknown) => e);
  expect(tf.memory().numTensors).toBe(before);
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as Error).message).not.toMatch(/\n/);
  return error as CheckpointError;
}

describe('fileSystemHandler.load of an untrusted folder', () => {
  it('loads the folder as saved (the baseline every refusal below departs from)', async () => {
    const { model } = await loadWeights(fileSystemHandler(dir));
    model.dispose();
  });

  it.each([
    ['../secret.bin', 'leaves the model folder'],
    ['../../../../../../../../etc/passwd', 'leaves the model folder'],
    ['/dev/zero', 'is absolute'],
    ['C:\\x', 'names a drive'],
    ['file:///etc/passwd', 'is a URL'],
    ['http://elsewhere/', 'is a URL'],
  ])('refuses the manifest path %j before opening anything', async (path, why) => {
    await editModelJson((json) => {
      json.weightsManifest[0]!.paths = [path];
    });
    expect((await loadFailure()).message).toMatch(
      new RegExp(`^${escapeRegExp(modelJsonPath)}: weightsManifest\\[0\\]\\.paths\\[0\\] '.*' ${why}[;,] `),
    );
  });

  it('refuses an absolute path to a right-sized file, whose bytes would otherwise load as weights', async () => {
    const secret = join(dir, '..', 'secret.bin');
    await editModelJson((json) => {
      json.weightsManifest[0]!.paths = [secret];
    });
    expect((await loadFailure()).message).toBe(
      `${modelJsonPath}: weightsManifest[0].paths[0] '${secret}' is absolute, so it leaves the model folder; ` +
        'a weights path must be a file name inside the model folder (letters, digits, ".", "_", "-", with "/" ' +
        'between folder names), as saveWeights writes it',
    );
  });

  it('refuses a weights.bin that is a link to a file outside the folder', async () => {
    const secret = join(dir, '..', 'secret.bin');
    await rm(join(dir, 'weights.bin'));
    await symlink(secret, join(dir, 'weights.bin'));
    expect((await loadFailure()).message).toBe(
      `${join(dir, 'weights.bin')} leads to ${secret}, outside the model folder ${dir}; a model may only read ` +
        'its own files. Copy the file into the folder instead of linking to it.',
    );
  });

  it('refuses a weights.bin that is a link to /dev/zero', async () => {
    await rm(join(dir, 'weights.bin'));
    await symlink('/dev/zero', join(dir, 'weights.bin'));
    expect((await loadFailure()).message).toMatch(
      new RegExp(`^${escapeRegExp(join(dir, 'weights.bin'))} leads to /dev/zero, outside the model folder`),
    );
  });

  it('refuses a model.json that is a link to a file outside the folder', async () => {
    const outside = join(dir, '..', 'model.json');
    await writeFile(outside, await readFile(modelJsonPath));
    await rm(modelJsonPath);
    await symlink(outside, modelJsonPath);
    expect((await loadFailure()).message).toMatch(/model\.json leads to .*, outside the model folder/);
  });

  it('follows links that stay inside the folder, and a folder that is itself a link', async () => {
    await mkdir(join(dir, 'shards'));
    await writeFile(join(dir, 'shards', 'real.bin'), await readFile(join(dir, 'weights.bin')));
    await rm(join(dir, 'weights.bin'));
    await symlink(join('shards', 'real.bin'), join(dir, 'weights.bin'));
    const linkedFolder = join(dir, '..', 'linked-model');
    await symlink(dir, linkedFolder);
    const { model } = await loadWeights(fileSystemHandler(linkedFolder));
    model.dispose();
  });

  it('refuses a FIFO named weights.bin without waiting for a writer', async () => {
    await rm(join(dir, 'weights.bin'));
    execFileSync('mkfifo', [join(dir, 'weights.bin')]);
    expect((await loadFailure()).message).toBe(
      `${join(dir, 'weights.bin')} is a FIFO (named pipe), not a regular file; a model folder holds only ` +
        'regular files. Replace it with the file saveWeights wrote.',
    );
  });

  it('refuses a FIFO named model.json without waiting for a writer', async () => {
    await rm(modelJsonPath);
    execFileSync('mkfifo', [modelJsonPath]);
    expect((await loadFailure()).message).toMatch(/model\.json is a FIFO \(named pipe\), not a regular file/);
  });

  it('refuses a directory named weights.bin', async () => {
    await rm(join(dir, 'weights.bin'));
    await mkdir(join(dir, 'weights.bin'));
    expect((await loadFailure()).message).toMatch(/weights\.bin is a directory, not a regular file/);
  });

  it('refuses a 2 GiB weights.bin by its size, before reading it', async () => {
    // Sparse: takes no disk space, but reading it would allocate 2 GiB.
    await truncate(join(dir, 'weights.bin'), 2 ** 31);
    expect((await loadFailure()).message).toBe(
      `${join(dir, 'weights.bin')} holds 2147483648 bytes but the manifest in ${modelJsonPath} describes ` +
        `${WEIGHT_BYTES}. The checkpoint is damaged or its files come from different saves; save the model again.`,
    );
  });

  it('refuses a model.json over the size limit before reading it', async () => {
    await truncate(modelJsonPath, 17 * 1024 * 1024);
    expect((await loadFailure()).message).toBe(
      `${modelJsonPath} has 17825792 bytes, more than the 16777216 a model.json may have; it is not a model.json ` +
        'that saveWeights wrote.',
    );
  });

  it('names the file for system errors: a link loop, a path through a file', async () => {
    await rm(join(dir, 'weights.bin'));
    await symlink('weights.bin', join(dir, 'weights.bin'));
    expect((await loadFailure()).message).toBe(
      `Cannot read ${join(dir, 'weights.bin')}: too many symbolic links (a link loop?) (ELOOP). Check the file ` +
        'and its permissions.',
    );
    await rm(join(dir, 'weights.bin'));
    await writeFile(join(dir, 'weights.bin'), '');
    await editModelJson((json) => {
      json.weightsManifest[0]!.paths = ['weights.bin/inner.bin'];
    });
    expect((await loadFailure()).message).toBe(
      `Cannot read ${join(dir, 'weights.bin', 'inner.bin')}: a part of this path is a file, where a folder was expected (ENOTDIR). ` +
        'Check the file and its permissions.',
    );
  });

  it('refuses paths that are not an array and shapes that are not arrays, in one line each', async () => {
    await editModelJson((json) => {
      json.weightsManifest[0]!.paths = 'x';
    });
    expect((await loadFailure()).message).toBe(
      `${modelJsonPath}: weightsManifest[0].paths is 'x', expected an array of file names`,
    );
    await editModelJson((json) => {
      json.weightsManifest[0]!.paths = ['weights.bin'];
      (json.weightsManifest[0]!.weights[0] as { shape: unknown }).shape = 5;
    });
    expect((await loadFailure()).message).toBe(
      `${modelJsonPath}: weightsManifest[0].weights[0].shape of 'C1/kernel' is 5, expected an array of sizes ` +
        'such as [5,5,1,6]',
    );
  });

  it('gives JSON errors in one line naming the file', async () => {
    await writeFile(modelJsonPath, '{\n"weightsManifest":\n[\n}\n');
    expect((await loadFailure()).message).toMatch(
      new RegExp(`^${escapeRegExp(modelJsonPath)} is not valid JSON \\(.+\\)\\. The file is damaged`),
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
