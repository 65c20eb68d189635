import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { augmentationFor, batchCount, type PreparedSplit, type Recipe } from '@lenet/data';
import { fileSystemHandler, writeFileAtomic } from '@lenet/node';
import {
  type Activation,
  type EvaluationResult,
  type LeNet5,
  learningRateAt,
  NonFiniteLossError,
  type Pooling,
  saveWeights,
} from '@lenet/ops';
import { saveCheckpoint, type TrainingState } from './checkpoint';
import { crashPoint } from './crash-point';
import type { StepEngine } from './engine';
import { CliError } from './errors';
import {
  type DigitImage,
  modelInputDigits,
  REPORT_MISTAKES,
  rawDigits,
  writeMistakesPicture,
} from './mistakes-picture';
import { formatDuration, Progress } from './progress';
import { confusionSvg, curvesSvg, type EpochMetrics, formatConfusion } from './report';

/** The settings a run records and `--resume` compares; see `lenet train --help`. */
export type TrainSettings = {
  recipe: string;
  batchSize: number;
  learningRate: number;
  seed: number;
  activation: Activation;
  pooling: Pooling;
  limit: number | undefined;
  data: string;
  augment: boolean;
};

/** Everything a run needs once its data, model and step engine exist. */
export interface TrainingRun {
  out: string;
  backend: string;
  settings: TrainSettings;
  recipe: Recipe;
  epochs: number;
  trainSplit: PreparedSplit;
  testSplit: PreparedSplit;
  /**
   * The raw 28x28 bytes of the test images, `testSplit`'s first (`mnist.test.images`), for
   * report/mistakes.png; without them it shows the digits recovered from `testSplit`'s model inputs.
   */
  testImages?: Uint8Array;
  model: LeNet5;
  engine: StepEngine;
  /** Where the run starts: epoch 0, or the checkpoint `--resume` loaded. */
  state: TrainingState;
}

/**
 * Trains from `run.state.epoch + 1` to `run.epochs`. After every epoch: test loss and accuracy, a
 * checkpoint, metrics.json and the report; after the last, report/mistakes.png (from the last epoch's
 * evaluation), the final weights and the confusion matrix.
 * With no epoch left to train (resumed after the last checkpoint), it writes what comes after it.
 */
export async function runEpochs(run: TrainingRun): Promise<void> {
  const { out, settings, recipe, epochs, model, engine } = run;
  const history = [...(run.state.history as EpochMetrics[])];
  const totalSteps = batchCount(run.trainSplit.count, settings.batchSize, false) * epochs;
  const metadata = { recipe: recipe.name, preprocessing: recipe.preprocessing, seed: settings.seed };
  const augment = augmentationFor(recipe, settings.augment);
  let state = run.state;
  let confusion: number[][] | undefined;
  const digits = run.testImages ? rawDigits(run.testImages) : modelInputDigits(run.testSplit.inputs);
  // Training time excludes data loading; a resumed run adds to the time already spent.
  const started = performance.now();

  for (let epoch = state.epoch + 1; epoch <= epochs; epoch++) {
    const progress = new Progress(`epoch ${epoch}/${epochs}`, run.trainSplit.count);
    let step = state.step;
    let lossSum = 0;
    let seen = 0;
    // In the engine's form: pixels made here for the replicas, plans for the GPU engine.
    const batches = engine.batches({
      batchSize: settings.batchSize,
      shuffle: true,
      seed: settings.seed,
      epoch,
      augment,
    });
    for (let next = batches.next(); !next.done; ) {
      const batch = next.value;
      const rate = learningRateAt(recipe.schedule, settings.learningRate, step, totalSteps);
      const pending = engine.step(batch, rate).catch((error: unknown) => {
        if (!(error instanceof NonFiniteLossError)) throw error;
        const next =
          state.epoch > 0
            ? `the checkpoint of epoch ${state.epoch} in ${out} is intact: go on from it with --resume and a lower --lr`
            : 'no checkpoint was written yet: train again with a lower --lr';
        throw new CliError(
          `training diverged at epoch ${epoch}, step ${step + 1}: the loss became ${error.loss}. ` +
            `Try a 10x lower --lr, or check the data for NaN or Infinity; ${next}`,
        );
      });
      // Shuffle, copy and distort (or plan) the next batch while this step runs (on worker threads or
      // the GPU; this thread is otherwise idle), instead of between steps.
      try {
        next = batches.next();
      } catch (error) {
        await pending.catch(() => {});
        throw error;
      }
      const loss = await pending;
      step++;
      crashPoint('step');
      lossSum += loss * batch.size;
      seen += batch.size;
      progress.update(seen, lossSum / seen);
    }
    const epochSeconds = progress.finish();

    // On the replicas, split across their threads as the steps are; only the last epoch's evaluation
    // goes into report/mistakes.png. Then the run's model gets the weights for the checkpoint.
    const evaluation = await engine.evaluate(run.testSplit, {
      mistakes: epoch === epochs ? REPORT_MISTAKES : 0,
    });
    await engine.syncModel();
    const elapsed = run.state.elapsedSeconds + (performance.now() - started) / 1000;
    const metrics: EpochMetrics = {
      epoch,
      trainLoss: lossSum / seen,
      testLoss: evaluation.loss,
      testAccuracy: evaluation.accuracy,
      learningRate: learningRateAt(recipe.schedule, settings.learningRate, step - 1, totalSteps),
      imagesPerSecond: seen / epochSeconds,
      epochSeconds,
      elapsedSeconds: elapsed,
    };
    history.push(metrics);
    console.log(
      `epoch ${epoch}/${epochs}: train loss ${metrics.trainLoss.toFixed(4)}, test loss ${metrics.testLoss.toFixed(4)}, ` +
        `test accuracy ${(100 * metrics.testAccuracy).toFixed(2)}%, ${Math.round(metrics.imagesPerSecond)} img/s, ` +
        `${formatDuration(epochSeconds)} (total ${formatDuration(elapsed)})`,
    );

    state = { epoch, step, elapsedSeconds: elapsed, settings, history };
    await saveCheckpoint(out, model, await engine.optimizerState(), state, metadata);
    await writeMetrics(out, run.backend, settings, history, evaluation.confusion);
    if (epoch === epochs) await writeMistakes(out, evaluation, digits);
    crashPoint('metrics');
    confusion = evaluation.confusion;
  }
  if (confusion === undefined) {
    // Resumed after the last checkpoint (a run stopped before it wrote model/ or metrics.json): the
    // checkpoint's weights are the final ones, so finish what that run left undone.
    await engine.syncModel();
    const evaluation = await engine.evaluate(run.testSplit, { mistakes: REPORT_MISTAKES });
    confusion = evaluation.confusion;
    await writeMetrics(out, run.backend, settings, history, confusion);
    await writeMistakes(out, evaluation, digits);
  }
  await saveWeights(model, fileSystemHandler(join(out, 'model')), metadata);
  crashPoint('model');
  console.log(`\n${formatConfusion(confusion)}\n`);
  printSummary(out, history);
}

/** The last lines of a run: final accuracy, and when it first reached 98.5% and 99%. */
function printSummary(out: string, history: EpochMetrics[]): void {
  const last = history[history.length - 1];
  if (!last) return;
  const at = (target: number) => {
    const m = history.find((h) => h.testAccuracy >= target);
    return m ? `at ${formatDuration(m.elapsedSeconds)} (epoch ${m.epoch})` : 'not reached';
  };
  console.log(
    `done: test accuracy ${(100 * last.testAccuracy).toFixed(2)}% in ${formatDuration(last.elapsedSeconds)}; ` +
      `98.5% ${at(0.985)}, 99% ${at(0.99)}`,
  );
  console.log(
    `wrote ${join(out, 'model')}, metrics.json, report/curves.svg, report/confusion.svg, report/mistakes.png`,
  );
}

/** report/mistakes.png: the worst {@link REPORT_MISTAKES} mistakes of `evaluation`. */
async function writeMistakes(out: string, evaluation: EvaluationResult, digits: DigitImage): Promise<void> {
  await writeMistakesPicture(join(out, 'report', 'mistakes.png'), evaluation.mistakes ?? [], digits);
}

async function writeMetrics(
  out: string,
  backend: string,
  settings: TrainSettings,
  history: EpochMetrics[],
  confusion: number[][],
): Promise<void> {
  const firstAt = (target: number) => history.find((m) => m.testAccuracy >= target)?.elapsedSeconds ?? null;
  const metrics = {
    backend,
    settings,
    epochs: history,
    final: { testAccuracy: history[history.length - 1]?.testAccuracy ?? null, confusion },
    secondsTo: { '98.5': firstAt(0.985), '99.0': firstAt(0.99) },
  };
  await mkdir(join(out, 'report'), { recursive: true });
  await writeFileAtomic(join(out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  await writeFileAtomic(join(out, 'report', 'curves.svg'), curvesSvg(history));
  await writeFileAtomic(join(out, 'report', 'confusion.svg'), confusionSvg(confusion));
}
