import { defineConformanceSuite } from './suite';

// cuDNN picks non-deterministic convolution algorithms unless told otherwise; the suite checks that
// one seed gives one result, so ask TensorFlow for deterministic ones (read when libtensorflow starts).
process.env.TF_DETERMINISTIC_OPS = '1';

// Runs wherever @tensorflow/tfjs-node-gpu loads with CUDA 11.2 + cuDNN 8.1; reported as skipped elsewhere.
await defineConformanceSuite('cuda', { batchSize: 16, steps: 4 });
