import { RECIPES } from '@lenet/data';
import type { TrainSettings } from './protocol';

const recipe = RECIPES.default;

/** The CLI's default recipe as it is: `lenet train`. */
export const FULL_PRESET: TrainSettings = {
  epochs: recipe.epochs,
  batchSize: recipe.batchSize,
  learningRate: recipe.learningRate,
  augment: recipe.augmentation !== null,
  trainImages: 60_000,
  seed: 0,
};

/**
 * One epoch on the first 10,000 training images, a few seconds of training. Small batches give the short run
 * more steps, and a higher peak rate suits them; with these it reads more than 95% of the test set.
 */
export const QUICK_PRESET: TrainSettings = {
  ...FULL_PRESET,
  epochs: 1,
  batchSize: 16,
  learningRate: 4e-3,
  trainImages: 10_000,
};
