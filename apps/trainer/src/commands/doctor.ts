import { createRequire } from 'node:module';
import {
  type BackendStatus,
  checkBackends,
  describeAdapter,
  listGpuAdapters,
  useSwiftShaderWhenNoVulkanDriver,
} from '@lenet/node';
import { parseCommandArgs } from '../args';
import { BACKEND_HELP_LINES, BACKEND_OPTIONS, parseBackend, parseBackendOptions } from '../backend';
import { CliError } from '../errors';

export const DOCTOR_HELP = `Usage: lenet doctor [options]

Tries every tfjs backend on this machine and says which run, with versions and GPU adapters, and for the
others why not and what to do. Exit status 0 when the backend given with --backend can run here.

Options:
${BACKEND_HELP_LINES}
  -h, --help            this help
`;

const OPTIONS = { ...BACKEND_OPTIONS } as const;

export async function doctorCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('doctor', argv, OPTIONS);
  if (values.help) {
    process.stdout.write(DOCTOR_HELP);
    return;
  }
  const requested = parseBackend(values.backend);
  const options = parseBackendOptions(values['gpu-adapter']);

  const require = createRequire(import.meta.url);
  const tfjsVersion = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  console.log(
    `node ${process.versions.node} on ${process.platform}-${process.arch}, tfjs-core ${tfjsVersion}`,
  );
  const swiftShader = useSwiftShaderWhenNoVulkanDriver();
  console.log(
    `VK_ICD_FILENAMES: ${process.env.VK_ICD_FILENAMES ?? '(not set: the system Vulkan drivers)'}` +
      (swiftShader === 'set' ? ' (no Vulkan driver installed: SwiftShader, on the CPU)' : ''),
  );

  const statuses = await checkBackends(options);
  const adapters = await listGpuAdapters().catch(() => []);
  console.log(`GPU adapters (Dawn): ${adapters.length > 0 ? adapters.join('; ') : 'none'}`);
  console.log('');
  for (const status of statuses) console.log(formatStatus(status));
  console.log('');

  const usable =
    requested === 'auto'
      ? statuses.find((s) => s.available)
      : statuses.find((s) => s.name === requested && s.available);
  if (!usable) {
    throw new CliError(`the requested backend '${requested}' cannot run here (see above)`);
  }
  console.log(webGpuChoice(statuses));
  console.log(
    requested === 'auto'
      ? `--backend auto would run on ${autoChoice(statuses)}`
      : `--backend ${requested} can run here`,
  );
}

function formatStatus(s: BackendStatus): string {
  const version = s.version ? `${s.package} ${s.version}` : `${s.package} (not installed)`;
  const head = `${s.available ? 'available  ' : 'unavailable'} ${s.name.padEnd(10)} ${version}`;
  const adapter = s.adapter
    ? `\n             adapter: ${describeAdapter(s.adapter)}, device ${s.adapter.device}`
    : '';
  return `${head}\n             ${s.detail}${adapter}`;
}

/**
 * Which adapter webgpu would run on, and whether `--backend auto` takes it and why: auto takes the first
 * backend that starts (listBackends order), and passes over webgpu on a software (fallback) adapter.
 */
export function webGpuChoice(statuses: readonly BackendStatus[]): string {
  const webgpu = statuses.find((s) => s.name === 'webgpu');
  if (!webgpu?.available || !webgpu.adapter) {
    const why = webgpu ? webgpu.detail.split(/\.\s/)[0] : 'not tried';
    return `webgpu would not run here (${why}); --backend auto passes over it`;
  }
  const on = `webgpu would run on ${describeAdapter(webgpu.adapter)}`;
  if (webgpu.adapter.isFallbackAdapter) {
    return (
      `${on}; --backend auto passes over it because it is a software (fallback) adapter, which computes on the ` +
      'CPU, slower than the CPU backends (--backend webgpu uses it anyway)'
    );
  }
  const before = statuses.slice(0, statuses.indexOf(webgpu)).find((s) => s.available);
  return before
    ? `${on}, a hardware adapter; --backend auto takes ${before.name} first (it comes before webgpu and runs here)`
    : `${on}; --backend auto picks webgpu: a hardware adapter, and nothing before it in auto's order runs here`;
}

/** What 'auto' picks: the first available backend, except that it passes over a software GPU adapter. */
function autoChoice(statuses: readonly BackendStatus[]): string {
  const choice = statuses.find((s) => s.available && !(s.adapter?.isFallbackAdapter ?? false));
  return choice ? choice.name : 'nothing';
}
