import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const swiftShader = existsSync(SWIFTSHADER_ICD);
const tools = ['xz', 'apt-get', 'npm'].every((tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
});
// As root with unshare, the run hides every Node on the machine and the workspace (a private mount namespace):
// the bundle must bring all it needs.
const canHide = process.getuid?.() === 0 && existsSync('/usr/bin/unshare');

const temp = mkdtempSync(join(tmpdir(), 'lenet-gpu-bundle-test-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(cmd, args, { ...options, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe('scripts/gpu-check.sh from its bundle', () => {
  it.skipIf(!swiftShader || !tools)(
    `runs end to end on SwiftShader from a copy of the bundle alone${swiftShader && tools ? '' : ' (SKIPPED: needs SwiftShader, xz, apt-get and npm)'}`,
    async () => {
      const made = await run(
        process.execPath,
        ['scripts/gpu-bundle/make-bundle.mjs', '--out', join(temp, 'made')],
        {
          cwd: ROOT,
        },
      );
      expect(made.code, made.output).toBe(0);
      const manifest = readFileSync(join(temp, 'made', 'MANIFEST.txt'), 'utf8');
      const total = Number(/([\d.]+) MiB {2}in all/.exec(manifest)![1]);
      expect(total).toBeLessThanOrEqual(64);

      // A copy elsewhere, run with a bare environment, as on the box.
      const bundle = join(temp, 'bundle');
      cpSync(join(temp, 'made'), bundle, { recursive: true });
      const out = join(temp, 'out');
      mkdirSync(out);
      const env = {
        HOME: tmpdir(),
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        OUT: out,
        GPU_CHECK_TINY: '1',
        VK_ICD_FILENAMES: SWIFTSHADER_ICD,
      };
      const empty = join(temp, 'empty');
      mkdirSync(empty);
      const script = join(bundle, 'gpu-check.sh');
      const hide = [
        `mount --bind ${empty} ${ROOT}`,
        ...['/usr/bin/node', '/usr/local/bin/node']
          .filter((path) => existsSync(path))
          .map((path) => `mount --bind /dev/null ${path}`),
        `exec bash ${script}`,
      ].join(' && ');
      const check = canHide
        ? await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', hide], { cwd: bundle, env })
        : await run('bash', [script], { cwd: bundle, env });
      expect(check.code, check.output).toBe(0);

      const log = readFileSync(join(out, 'gpu-check.log'), 'utf8');
      expect(log).toMatch(/^node v\d+\.\d+\.\d+ \(\/.*lenet-gpu-check-[^/]+\/bin\/node\)/m);
      expect(log).toContain('== lenet doctor');
      expect(log).toMatch(/^webgpu would run on google swiftshader/m);
      expect(log).toMatch(/fused\/stock +train b8 [\d.]+, train b16 [\d.]+, infer b32 [\d.]+/);

      const report = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8'));
      const { fused, stock } = report.ours;
      for (const side of [fused, stock]) {
        expect(side.backend).toBe('webgpu');
        expect(side.device).toMatch(/swiftshader/i);
        expect(side.trainImagesPerSecond['8']).toBeGreaterThan(0);
        expect(side.trainImagesPerSecond['16']).toBeGreaterThan(0);
        expect(side.inferImagesPerSecond).toBeGreaterThan(0);
      }
      // Stock is the fused side with our kernels unregistered: none of them ran there.
      expect(stock.kernels.unregistered).toEqual(fused.kernels.registered);
      for (const name of fused.kernels.registered) {
        expect(stock.kernels.trainStep.byName[name]).toBeUndefined();
        expect(stock.kernels.inference.byName[name]).toBeUndefined();
      }
      expect(report.ratios['fused/stock']['train b8']).toBeGreaterThan(0);
      // No CUDA here: every PyTorch line says why it was skipped.
      for (const mode of ['eager', 'cudagraphs', 'compile'])
        expect(report.pytorch[mode].skipped).toMatch(/torch|CUDA/);
      expect(report.timeToAccuracy.ours.accuracies).toHaveLength(1);
      expect(report.timeToAccuracy.pytorch.skipped).toMatch(/torch|CUDA/);
    },
  );
});
