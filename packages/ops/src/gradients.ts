// tfjs-core on its own registers no gradient functions, so training fails with
// "gradient function not found for ...". This side-effect import registers them all.
// src/index.ts imports this file first, so every user of @lenet/ops can train.
//
// The bare import comes first: where a loader resolves '@tensorflow/tfjs-core' to its CommonJS build
// and the deep path below to the ES modules (vitest does), two copies load, sharing tfjs's engine on
// globalThis. The engine must then come from the package entry the application uses, or its tensors
// lack the ops the gradients call.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
