import { describe, expect, it } from 'vitest';
import { diagnoseNativeFailure, loadNativeTensorflow, nativePackageVersion } from './native-tensorflow';

/** The message of what importing `specifier` really throws here. */
async function importError(specifier: string): Promise<string> {
  try {
    await import(/* @vite-ignore */ specifier);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${specifier} imported without an error`);
}

// TensorFlow 2.9.1's own log lines (tfjs-node-gpu on a machine without CUDA 11.2 / cuDNN 8.1): it writes
// them to stderr and then quietly runs on the CPU.
const TF_LOG_WITHOUT_CUDA = `2024-03-01 10:12:01.123456: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: cannot open shared object file: No such file or directory; LD_LIBRARY_PATH: /usr/local/nvidia/lib64
2024-03-01 10:12:01.123500: I tensorflow/stream_executor/cuda/cudart_stub.cc:29] Ignore above cudart dlerror if you do not have a GPU set up on your machine.
2024-03-01 10:12:02.000001: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcudnn.so.8'; dlerror: libcudnn.so.8: cannot open shared object file: No such file or directory; LD_LIBRARY_PATH: /usr/local/nvidia/lib64
2024-03-01 10:12:02.000002: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libnvinfer.so.7'; dlerror: libnvinfer.so.7: cannot open shared object file: No such file or directory
2024-03-01 10:12:02.000100: W tensorflow/core/common_runtime/gpu/gpu_device.cc:1850] Cannot dlopen some GPU libraries. Please make sure the missing libraries mentioned above are installed properly if you would like to use GPU. Follow the guide at https://www.tensorflow.org/install/gpu for how to download and setup the required libraries for your platform.
Skipping registering GPU devices...`;

describe('diagnoseNativeFailure', () => {
  it('a package that is not installed: the install command and the build-script allowance', async () => {
    const message = await importError('@tensorflow/tfjs-node-gpu');
    const diagnosis = diagnoseNativeFailure('@tensorflow/tfjs-node-gpu', message);
    expect(diagnosis.kind).toBe('not-installed');
    expect(diagnosis.message).toContain('pnpm add -w @tensorflow/tfjs-node-gpu@4.22.0');
    expect(diagnosis.message).toContain('npm install @tensorflow/tfjs-node-gpu@4.22.0');
    expect(diagnosis.message).toMatch(/onlyBuiltDependencies.*pnpm approve-builds/);
    expect(diagnosis.message).toMatch(/TFJS_NODE_BASE_URI/);
  });

  it('an installed package whose install script never ran: how to run it', async () => {
    // tfjs-node is a devDependency here, installed without its (download) script: the real case.
    const message = await importError('@tensorflow/tfjs-node');
    expect(message).toContain('tfjs_binding.node) can not be found');
    const diagnosis = diagnoseNativeFailure('@tensorflow/tfjs-node', message);
    expect(diagnosis.kind).toBe('addon-not-built');
    expect(diagnosis.message).toContain('its install script did not run');
    expect(diagnosis.message).toContain('pnpm rebuild @tensorflow/tfjs-node');
  });

  it('an addon whose libtensorflow is gone: same diagnosis', () => {
    const message = 'libtensorflow.so.2: cannot open shared object file: No such file or directory';
    expect(diagnoseNativeFailure('@tensorflow/tfjs-node-gpu', message)).toMatchObject({
      kind: 'addon-not-built',
      message: expect.stringContaining('libtensorflow.so.2 is missing'),
    });
  });

  it('CUDA and cuDNN missing: names each library and what provides it, ignores optional TensorRT', () => {
    const diagnosis = diagnoseNativeFailure('@tensorflow/tfjs-node-gpu', TF_LOG_WITHOUT_CUDA);
    expect(diagnosis.kind).toBe('cuda-library-missing');
    expect(diagnosis.libraries).toEqual(['libcudart.so.11.0', 'libcudnn.so.8']);
    expect(diagnosis.message).toContain('libcudart.so.11.0: install the CUDA 11.2 runtime');
    expect(diagnosis.message).toContain('libcudnn.so.8: install cuDNN 8.1 for CUDA 11.2');
    expect(diagnosis.message).toContain('exactly CUDA 11.2 and cuDNN 8.1');
  });

  it('the driver library missing: points at the NVIDIA driver', () => {
    const log =
      "W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcuda.so.1'; dlerror: libcuda.so.1: cannot open shared object file: No such file or directory";
    const diagnosis = diagnoseNativeFailure('@tensorflow/tfjs-node-gpu', log);
    expect(diagnosis.libraries).toEqual(['libcuda.so.1']);
    expect(diagnosis.message).toContain('the NVIDIA driver');
  });

  it('a driver that sees no GPU', () => {
    const log =
      'E tensorflow/stream_executor/cuda/cuda_driver.cc:271] failed call to cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected';
    expect(diagnoseNativeFailure('@tensorflow/tfjs-node-gpu', log).kind).toBe('cuda-driver');
  });

  it('anything else: the first line of what was said', () => {
    expect(diagnoseNativeFailure('@tensorflow/tfjs-node', '\nboom\nmore')).toEqual({
      kind: 'other',
      libraries: [],
      message: '@tensorflow/tfjs-node failed: boom',
    });
  });
});

describe('loadNativeTensorflow', () => {
  it('throws the diagnosis, keeping the original error as the cause', async () => {
    const attempt = loadNativeTensorflow('@tensorflow/tfjs-node');
    await expect(attempt).rejects.toThrow(/native addon \(tfjs_binding\.node\) is missing/);
    await expect(attempt).rejects.toHaveProperty(
      'cause.message',
      expect.stringContaining('can not be found'),
    );
  });

  it('reads installed versions', () => {
    expect(nativePackageVersion('@tensorflow/tfjs-node')).toBe('4.22.0');
    expect(nativePackageVersion('@tensorflow/tfjs-node-gpu')).toBeUndefined();
  });
});
