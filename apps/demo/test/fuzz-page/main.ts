/**
 * The fuzz page (tests only): loads the input files the Node test serves, runs every campaign in a worker
 * with a deadline per mutant, and gives the summaries to the test through window.runFuzz.
 */
import {
  type CampaignSummary,
  type Failure,
  type FuzzInputs,
  INPUT_FILES,
  type PageMessage,
  type WorkerMessage,
} from './protocol';

/** How long one mutant may take before it counts as a hang (as in the Node suites). */
const DEADLINE_MS = 5000;
/** How long a fresh worker may take to load the parsers and make a campaign's mutants. */
const SETUP_DEADLINE_MS = 60_000;

function startWorker(): Worker {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
}

async function loadInputs(): Promise<FuzzInputs> {
  const entries = await Promise.all(
    INPUT_FILES.map(async (name) => {
      const response = await fetch(new URL(`inputs/${name}`, window.location.href));
      if (!response.ok) throw new Error(`inputs/${name}: HTTP ${response.status}`);
      return [name, new Uint8Array(await response.arrayBuffer())] as const;
    }),
  );
  return Object.fromEntries(entries) as FuzzInputs;
}

async function campaignNames(inputs: FuzzInputs): Promise<string[]> {
  const worker = startWorker();
  try {
    return await new Promise((resolve, reject) => {
      worker.onerror = (event) => reject(new Error(`the fuzz worker failed to start: ${event.message}`));
      worker.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
        if (data.type === 'campaigns') resolve(data.names);
        else reject(new Error(`the fuzz worker answered ${JSON.stringify(data)}`));
      };
      worker.postMessage({ type: 'list', inputs } satisfies PageMessage);
    });
  } finally {
    worker.terminate();
  }
}

/**
 * Runs the summary's campaign in a fresh worker from mutant `from`, adding each outcome to the summary.
 * Resolves with the index of a mutant that did not answer in time (the worker is then stopped), or with
 * undefined once the campaign is over.
 */
function runFrom(inputs: FuzzInputs, summary: CampaignSummary, from: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const worker = startWorker();
    let current: { index: number; seed: number; how: string } | undefined;
    const fail = (failure: Omit<Failure, 'seed' | 'how'>) =>
      summary.failures.push({ seed: current?.seed ?? -1, how: current?.how ?? 'setting up', ...failure });
    const stop = (hungAt: number | undefined) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(hungAt);
    };
    const onDeadline = () => {
      if (current === undefined) {
        fail({
          name: 'no answer',
          message: `no mutant started within ${SETUP_DEADLINE_MS} ms`,
          problem: 'hang',
        });
        return stop(undefined);
      }
      summary.answered++;
      fail({ name: 'no answer', message: `nothing within ${DEADLINE_MS} ms`, problem: 'hang' });
      stop(current.index);
    };
    let timer = setTimeout(onDeadline, SETUP_DEADLINE_MS);
    worker.onerror = (event) => {
      fail({ name: 'worker', message: event.message, problem: 'the worker failed' });
      stop(undefined);
    };
    worker.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
      switch (data.type) {
        case 'planned':
          summary.planned = data.count;
          summary.expectsValid = data.expectsValid;
          break;
        case 'start':
          current = data;
          clearTimeout(timer);
          timer = setTimeout(onDeadline, DEADLINE_MS);
          break;
        case 'outcome':
          clearTimeout(timer);
          current = undefined;
          summary.answered++;
          if (data.outcome.kind === 'valid') summary.valid++;
          else if (data.outcome.kind === 'typed') summary.typed++;
          else summary.failures.push(data.outcome.failure);
          break;
        case 'done':
          return stop(undefined);
        default:
          fail({
            name: 'worker',
            message: JSON.stringify(data),
            problem: 'the worker could not run the campaign',
          });
          return stop(undefined);
      }
    };
    worker.postMessage({ type: 'run', campaign: summary.campaign, from, inputs } satisfies PageMessage);
  });
}

window.runFuzz = async () => {
  const inputs = await loadInputs();
  const summaries: CampaignSummary[] = [];
  for (const campaign of await campaignNames(inputs)) {
    const summary: CampaignSummary = {
      campaign,
      expectsValid: false,
      planned: 0,
      answered: 0,
      valid: 0,
      typed: 0,
      failures: [],
    };
    // After a hang, a fresh worker carries on with the next mutant.
    for (let from: number | undefined = 0; from !== undefined; ) {
      const hungAt: number | undefined = await runFrom(inputs, summary, from);
      from = hungAt === undefined ? undefined : hungAt + 1;
    }
    summaries.push(summary);
  }
  return summaries;
};
