import { defineConformanceSuite } from './suite';

// Held to the float64 reference like every other backend: tfjs's plain-JavaScript kernels in float32.
await defineConformanceSuite('cpu', { batchSize: 16, steps: 4 });
