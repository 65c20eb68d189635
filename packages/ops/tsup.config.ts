import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // tfjs-core ships register_all_gradients only as extensionless ES modules, which Node cannot load
  // (neither import nor require finds './gradients/Abs_grad'). Bundle that deep import and what it pulls in;
  // the bare '@tensorflow/tfjs-core' stays external. tfjs keeps its engine and registries on globalThis,
  // so the gradients registered by this copy are the ones the app's tfjs-core uses.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
