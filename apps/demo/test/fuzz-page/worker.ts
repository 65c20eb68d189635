/**
 * Runs one campaign in a worker, so that the page can stop a mutant that never returns (a synchronous parser
 * stuck in a loop cannot be interrupted from its own thread). Reports each mutant's start and outcome.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { Campaign, FuzzCase } from './campaign';
import { idxCampaigns } from './idx-campaigns';
import { manifestCampaigns } from './manifest-campaigns';
import type { FuzzInputs, Outcome, PageMessage, WorkerMessage } from './protocol';
import { pytorchCampaigns } from './pytorch-campaigns';

function allCampaigns(inputs: FuzzInputs): Campaign[] {
  return [...idxCampaigns(inputs), ...manifestCampaigns(inputs), ...pytorchCampaigns(inputs)];
}

const send = (message: WorkerMessage) => postMessage(message);

addEventListener('message', async ({ data }: MessageEvent<PageMessage>) => {
  try {
    if (data.type === 'list') {
      send({ type: 'campaigns', names: allCampaigns(data.inputs).map((c) => c.name) });
      return;
    }
    await tf.setBackend('cpu');
    const campaign = allCampaigns(data.inputs).find((c) => c.name === data.campaign);
    if (campaign === undefined) throw new Error(`no campaign named ${data.campaign}`);
    const cases = await campaign.cases();
    send({ type: 'planned', count: cases.length, expectsValid: campaign.expectsValid });
    for (let index = data.from; index < cases.length; index++) {
      send({ type: 'start', index, seed: cases[index]!.seed, how: cases[index]!.how });
      send({ type: 'outcome', index, outcome: await outcomeOf(cases[index]!) });
    }
    send({ type: 'done' });
  } catch (error) {
    send({
      type: 'crashed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
});

async function outcomeOf({ seed, how, run }: FuzzCase): Promise<Outcome> {
  try {
    const verdict = await run();
    return typeof verdict === 'string'
      ? { kind: verdict }
      : { kind: 'failure', failure: { seed, how, ...verdict } };
  } catch (error) {
    // The judges catch what the parsers throw, so this is a bug in the campaign itself; report it as one.
    const message = error instanceof Error ? error.message : String(error);
    return {
      kind: 'failure',
      failure: { seed, how, name: 'campaign', message, problem: 'the check itself threw' },
    };
  }
}
