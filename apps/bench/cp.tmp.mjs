import { useBackend } from '@lenet/node';
import { LeNet5, computeGradients } from '@lenet/ops';
await useBackend('wasm');
const b = 1; const model = LeNet5.create({ seed: 1 });
const xa = new Float32Array(b * 1024).map(() => Math.random()); const labels = new Int32Array(b).map((_, i) => i % 10);
for (let i = 0; i < 2000; i++) await computeGradients(model, xa, labels, b);
