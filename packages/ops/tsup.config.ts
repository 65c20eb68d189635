import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'pytorch/index': 'src/pytorch/index.ts',
    'parallel/index': 'src/parallel/index.ts',
  },
  format: ['esm', 'cjs'],
  // The entry points share one copy of the model, the errors and the gradient registration in chunks,
  // so `instanceof` holds across them (NonFiniteLossError from a coordinator, LeNet5 from the root) in
  // CommonJS too, where tsup splits only when asked.
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  // tfjs-core ships register_all_gradients only as extensionless ES modules, which Node cannot load
  // (neither import nor require finds './gradients/Abs_grad'). Bundle that deep import and what it pulls in;
  // the bare '@tensorflow/tfjs-core' stays external. tfjs keeps its engine and registries on globalThis,
  // so the gradients registered by this copy are the ones the app's tfjs-core uses.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
