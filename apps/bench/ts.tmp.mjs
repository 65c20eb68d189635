import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@lenet/node';
import { LeNet5, createOptimizer, trainStep, FlatAdam, flatWeights, unflattenWeights, computeGradients } from '@lenet/ops';
await useBackend('wasm');
const b = Number(process.argv[2] ?? 64);
const model = LeNet5.create({ seed: 1 }); const opt = createOptimizer('adam', 1e-3);
const xa = new Float32Array(b * 1024).map(() => Math.random()); const labels = new Int32Array(b).map((_, i) => i % 10);
const x = tf.tensor4d(xa, [b, 32, 32, 1]); const y = tf.tensor1d(labels, 'int32');
const flat = await FlatAdam.fromOptimizer(opt, model); const w = await flatWeights(model);
for (let r = 0; r < 3; r++) {
  for (let i = 0; i < 5; i++) await trainStep(model, opt, x, y);
  let t0 = performance.now(); for (let i = 0; i < 40; i++) await trainStep(model, opt, x, y); const a = (performance.now() - t0) / 40;
  for (let i = 0; i < 5; i++) { const g = await computeGradients(model, xa, labels, b); flat.step(w, g.gradients); model.setWeights(unflattenWeights(w)); }
  t0 = performance.now(); for (let i = 0; i < 40; i++) { const g = await computeGradients(model, xa, labels, b); flat.step(w, g.gradients); model.setWeights(unflattenWeights(w)); } const c = (performance.now() - t0) / 40;
  console.log(`b${b} trainStep ${a.toFixed(2)} ms; computeGradients+FlatAdam ${c.toFixed(2)} ms`);
}
