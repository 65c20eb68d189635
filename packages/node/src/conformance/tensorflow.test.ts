import { defineConformanceSuite } from './suite';

// Runs wherever @tensorflow/tfjs-node is installed with its native addon; reported as skipped elsewhere.
await defineConformanceSuite('tensorflow', { batchSize: 16, steps: 4 });
