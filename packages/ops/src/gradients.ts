// tfjs-core on its own registers no gradient functions, so training fails with
// "gradient function not found for ...". This side-effect import registers them all.
// src/index.ts imports this file first, so every user of @lenet/ops can train.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
