import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeAdapter, type GpuAdapterInfo } from '@lenet/ops';
import * as tf from '@tensorflow/tfjs-core';

// The adapter's shape and its one-line description are @lenet/ops', shared with @lenet/web's backend choice.
export { describeAdapter, type GpuAdapterInfo };

/** Options for the WebGPU backend in Node. */
export interface WebGpuOptions {
  /**
   * Picks one of several adapters by (part of) its name, as Dawn lists them, e.g. `'NVIDIA'` or
   * `'SwiftShader'`; Dawn's `adapter=` flag. Without it Dawn picks the high-performance adapter.
   */
  gpuAdapter?: string;
}

/** The Vulkan driver file of Debian's SwiftShader (`apt-get install chromium-common libvulkan1`). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Why there is no WebGPU here and what to do; its first sentence is what 'auto' prints. */
export const NO_ADAPTER_HINT =
  'Dawn found no GPU adapter. On a GPU machine install the Vulkan driver (NVIDIA: the proprietary driver with ' +
  'libvulkan1; AMD/Intel: mesa-vulkan-drivers) and check `vulkaninfo`. Without a GPU, SwiftShader works but is slow: ' +
  `\`apt-get install chromium-common libvulkan1\` and VK_ICD_FILENAMES=${SWIFTSHADER_ICD}.`;

// Where the Vulkan loader looks for drivers when VK_ICD_FILENAMES / VK_DRIVER_FILES are unset, plus where
// NVIDIA's container runtime puts its driver file.
const VULKAN_DRIVER_DIRS = [
  '/etc/vulkan/icd.d',
  '/usr/share/vulkan/icd.d',
  '/usr/local/etc/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/usr/local/nvidia/share/vulkan/icd.d',
  join(homedir(), '.local/share/vulkan/icd.d'),
];

/**
 * On Linux with no Vulkan driver installed at all but Debian's SwiftShader present, points the Vulkan loader
 * at SwiftShader (VK_ICD_FILENAMES), so `--backend webgpu` runs (slowly, on the CPU) instead of finding no
 * adapter; `'auto'` still passes over a software adapter. Never overrides drivers a machine has or a
 * variable the user set. Returns what it did, for `lenet doctor`.
 */
export function useSwiftShaderWhenNoVulkanDriver(): 'set' | 'unchanged' {
  if (process.platform !== 'linux') return 'unchanged';
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || !existsSync(SWIFTSHADER_ICD))
    return 'unchanged';
  const hasDriver = VULKAN_DRIVER_DIRS.some((dir) => {
    try {
      return readdirSync(dir).some((file) => file.endsWith('.json'));
    } catch {
      return false;
    }
  });
  if (hasDriver) return 'unchanged';
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return 'set';
}

interface DawnGpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<DawnAdapter | null>;
}
interface DawnAdapter {
  info: GpuAdapterInfo;
}
type NavigatorWithGpu = { gpu?: DawnGpu };

let installedAdapter: GpuAdapterInfo | undefined;

/**
 * Makes `navigator.gpu` a Dawn instance and checks that it has an adapter, then loads
 * `@tensorflow/tfjs-backend-webgpu` (which registers itself only when `navigator.gpu` exists).
 * Returns the adapter's info. Calling it again with the same options reuses the setup.
 */
export async function setUpWebGpu(options: WebGpuOptions = {}): Promise<GpuAdapterInfo> {
  if (installedAdapter) return installedAdapter;
  const dawn = await importDawn();
  // Dawn's globals (GPUBufferUsage, GPUMapMode, ...) are what tfjs's webgpu backend expects in a browser.
  Object.assign(globalThis, dawn.globals);
  const flags = options.gpuAdapter ? [`adapter=${options.gpuAdapter}`] : [];
  const gpu = dawn.create(flags);
  let adapter: DawnAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    // Dawn rejects an unknown adapter name with the list of the adapters it has.
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `no GPU adapter matches --gpu-adapter '${options.gpuAdapter}'. Dawn says: ${message.replace(/\s*\n\s*/g, ' ')}`,
    );
  }
  if (adapter == null) throw new Error(NO_ADAPTER_HINT);
  const info = readAdapterInfo(adapter.info);

  // Node 21+ has a global navigator without gpu; Node 20 has none.
  const g = globalThis as { navigator?: NavigatorWithGpu };
  if (g.navigator == null) g.navigator = {};
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });

  await import('@tensorflow/tfjs-backend-webgpu');
  // tfjs's default conv2d shader for SwiftShader is about 2x slower than a separate im2col pass, and
  // equally correct. (Never set WEBGPU_USE_NAIVE_CONV2D_DEBUG: it gives wrong results silently.)
  tf.env().set('WEBGPU_CONV_SEPARATE_IM2COL_SHADER', true);
  installedAdapter = info;
  return info;
}

/** The adapter `setUpWebGpu` chose, if it ran. */
export function webGpuAdapter(): GpuAdapterInfo | undefined {
  return installedAdapter;
}

/**
 * Frees the WebGPU backend and drops `navigator.gpu`: Dawn keeps the process alive while it is referenced.
 * Safe to call when WebGPU was never set up.
 */
export function releaseWebGpu(): void {
  if (installedAdapter === undefined) return;
  if (tf.findBackend('webgpu') != null) tf.removeBackend('webgpu');
  const g = globalThis as { navigator?: NavigatorWithGpu };
  if (g.navigator) delete g.navigator.gpu;
  installedAdapter = undefined;
}

/**
 * The adapters Dawn can use here, as `"backend: 'vulkan', name: '...'"` lines, found the way the `webgpu`
 * package documents: asking for an adapter name that does not exist makes Dawn list them all.
 */
export async function listGpuAdapters(): Promise<string[]> {
  const dawn = await importDawn();
  try {
    await dawn.create(['adapter=\u0001lenet-list-adapters']).requestAdapter();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return [...message.matchAll(/^\s*\*\s*(.+)$/gm)].map((m) => m[1]!.trim());
  }
  return [];
}

/**
 * Asks Dawn for an adapter in a child process and returns its info (null when there is none). Dawn prints
 * Vulkan loader warnings straight to stderr when there is no driver; `'auto'` asks here first so that a
 * machine without a GPU gets no such noise.
 */
export async function probeGpuAdapter(options: WebGpuOptions = {}): Promise<GpuAdapterInfo | null> {
  await importDawn(); // the same "not installed" error as a real setup
  const entry = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  const flags = options.gpuAdapter ? [`adapter=${options.gpuAdapter}`] : [];
  const script =
    `const { create } = await import(${JSON.stringify(entry)});` +
    `const a = await create(${JSON.stringify(flags)}).requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);` +
    "const i = a && a.info; console.log('ADAPTER ' + JSON.stringify(i && { vendor: i.vendor, architecture: i.architecture, " +
    'device: i.device, description: i.description, isFallbackAdapter: Boolean(i.isFallbackAdapter) }));';
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 60_000 },
      (_error, stdout) => {
        const line = /^ADAPTER (.*)$/m.exec(stdout);
        resolve(line ? (JSON.parse(line[1]!) as GpuAdapterInfo | null) : null);
      },
    );
  });
}

async function importDawn(): Promise<{ create(flags: string[]): DawnGpu; globals: object }> {
  // Before Dawn's first Vulkan instance, in this process and the children that inherit its environment.
  useSwiftShaderWhenNoVulkanDriver();
  try {
    return (await import('webgpu')) as unknown as { create(flags: string[]): DawnGpu; globals: object };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/Cannot find (package|module) 'webgpu'/.test(message)) {
      throw new Error(
        "the optional dependency 'webgpu' (Dawn for Node) is not installed. Install it with " +
          '`pnpm add webgpu@0.6.2` (npm: `npm install webgpu@0.6.2`); it ships dawn.node for Linux, macOS and Windows.',
      );
    }
    throw new Error(`the 'webgpu' package (Dawn) failed to load: ${message.split('\n')[0]}`);
  }
}

/** GPUAdapterInfo's fields are getters on its prototype, so copy them into a plain object. */
function readAdapterInfo(info: GpuAdapterInfo): GpuAdapterInfo {
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
  };
}
