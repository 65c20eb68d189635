import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BackendStatus, SWIFTSHADER_ICD } from '@lenet/node';
import { describe, expect, it } from 'vitest';
import { webGpuChoice } from './doctor';

// Runs the built CLI (turbo builds it before `test`), as a user would.
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function doctor(env: Record<string, string | undefined>, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'doctor', ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The status line of one backend: 'available   wasm ...' or 'unavailable cuda ...', then its detail line. */
function entry(stdout: string, name: string): string {
  const match = new RegExp(`^(available|unavailable) +${name} .*\\n.*`, 'm').exec(stdout);
  if (!match) throw new Error(`no line for ${name} in:\n${stdout}`);
  return match[0];
}

const swiftShader = existsSync(SWIFTSHADER_ICD);

describe('lenet doctor', () => {
  it.skipIf(!swiftShader)(
    `tells the truth here: no cuda or native tensorflow, and why; wasm, cpu and webgpu on SwiftShader${swiftShader ? '' : ' (SKIPPED: no SwiftShader; apt-get install chromium-common libvulkan1)'}`,
    async () => {
      const run = await doctor({ VK_ICD_FILENAMES: SWIFTSHADER_ICD }, '--backend', 'webgpu');
      expect(run.code).toBe(0);
      expect(entry(run.stdout, 'cuda')).toMatch(
        /^unavailable .*\n.*is not installed\. Install it with `pnpm add -w/,
      );
      expect(entry(run.stdout, 'tensorflow')).toMatch(
        /^unavailable .*4\.22\.0\n.*install script did not run/,
      );
      expect(entry(run.stdout, 'webgpu')).toMatch(/^available .*\n.*WebGPU \(Dawn\): google swiftshader/);
      expect(entry(run.stdout, 'wasm')).toMatch(/^available .*\n\s+CPU, WebAssembly/);
      expect(entry(run.stdout, 'cpu')).toMatch(/^available /);
      expect(run.stdout).toMatch(/GPU adapters \(Dawn\): backend: 'vulkan', name: 'SwiftShader/);
    },
  );

  it.skipIf(!swiftShader)(
    'says which adapter webgpu would use and that auto passes over SwiftShader, a software adapter',
    async () => {
      const run = await doctor({ VK_ICD_FILENAMES: SWIFTSHADER_ICD });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        /^webgpu would run on google swiftshader \(SwiftShader driver [^)]*\), software fallback adapter; --backend auto passes over it because it is a software \(fallback\) adapter/m,
      );
      expect(run.stdout).toContain('--backend auto would run on wasm');
    },
  );

  it('exits 0 for auto (naming what auto picks) and 1 for a backend that cannot run', async () => {
    const auto = await doctor({ VK_ICD_FILENAMES: undefined });
    expect(auto.code).toBe(0);
    expect(auto.stdout).toContain('--backend auto would run on wasm');

    const cuda = await doctor({}, '--backend', 'cuda');
    expect(cuda.code).toBe(1);
    expect(cuda.stderr).toMatch(/the requested backend 'cuda' cannot run here/);
  });

  it('says auto picks webgpu on a hardware adapter, unless cuda runs before it', () => {
    const status = (name: BackendStatus['name'], available: boolean, extra: Partial<BackendStatus> = {}) => ({
      name,
      available,
      detail: available ? 'runs' : 'not installed. Install it',
      package: name,
      version: undefined,
      ...extra,
    });
    const adapter = {
      vendor: 'nvidia',
      architecture: 'hopper',
      device: '',
      description: 'NVIDIA H200',
      isFallbackAdapter: false,
    };
    const statuses = [
      status('cuda', false),
      status('webgpu', true, { adapter }),
      status('tensorflow', false),
      status('wasm', true),
      status('cpu', true),
    ];
    expect(webGpuChoice(statuses)).toBe(
      'webgpu would run on nvidia hopper (NVIDIA H200); --backend auto picks webgpu: a hardware adapter, ' +
        "and nothing before it in auto's order runs here",
    );
    statuses[0] = status('cuda', true);
    expect(webGpuChoice(statuses)).toMatch(/a hardware adapter; --backend auto takes cuda first/);
    statuses[1] = status('webgpu', false, { detail: 'Dawn found no GPU adapter. On a GPU machine ...' });
    expect(webGpuChoice(statuses)).toBe(
      'webgpu would not run here (Dawn found no GPU adapter); --backend auto passes over it',
    );
  });

  it('rejects an unknown backend with exit 2', async () => {
    const run = await doctor({}, '--backend', 'opengl');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--backend must be auto or one of cuda, webgpu, tensorflow, wasm, cpu/);
  });
});
