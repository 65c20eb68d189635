/** What the conformance page and the Node test tell each other (types only, so Node can import it). */
import type {
  ConformanceSize,
  ReferenceErrors,
  TrainingReport,
} from '../../../../test-utils/conformance/checks';

/** The input files, by name, as the Node test serves them under `inputs/`: the first real MNIST test items. */
export const INPUT_FILES = ['images.idx', 'labels.idx'] as const;

/** What setting a backend up gave: it runs, with what @lenet/kernels registered, or why it does not. */
export type SetupReport =
  | {
      started: true;
      /** tf.getBackend() afterwards. */
      backend: string;
      /** The kernel names registerKernels() of @lenet/kernels reports for this backend. */
      kernels: string[];
      /** Why the SIMD kernels stayed out, where they did. */
      simdSkipped?: string;
      /** Whether LeNet5.lossAndGradients runs the fused kernel here. */
      fused: boolean;
    }
  | { started: false; reason: string };

/** The shared checks' results on the page's backend. */
export interface ConformanceReport {
  backend: string;
  errors: ReferenceErrors;
  training: TrainingReport;
}

declare global {
  interface Window {
    /** Set by main.ts: set one backend up, then run the checks on it. */
    conformance?: {
      setup(backend: string): Promise<SetupReport>;
      run(size: ConformanceSize): Promise<ConformanceReport>;
    };
  }
}
