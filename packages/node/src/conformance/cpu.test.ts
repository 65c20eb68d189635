import { defineConformanceSuite } from './suite';

// The reference itself: the comparisons are exact here, the training checks are not.
await defineConformanceSuite('cpu', { batchSize: 16, steps: 4 });
