import { existsSync } from 'node:fs';
import { SWIFTSHADER_ICD } from '../webgpu-dawn';
import { defineConformanceSuite } from './suite';

// Without a GPU, Dawn runs on SwiftShader's Vulkan driver (apt: chromium-common libvulkan1) when pointed at
// it; Dawn reads this when it creates its instance. A machine with a GPU driver keeps its own setting.
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

// On SwiftShader our WGSL kernels run a few hundred images per second, the stock ones (the tape) tens.
await defineConformanceSuite('webgpu', { batchSize: 16, steps: 4 });
