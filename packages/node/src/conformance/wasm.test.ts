import { defineConformanceSuite } from './suite';

await defineConformanceSuite('wasm', { batchSize: 16, steps: 4 });
