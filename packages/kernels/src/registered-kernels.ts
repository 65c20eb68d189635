/** What registerKernels registered for a backend, and why some kernels stayed out, where they did. */
export interface RegisteredKernels {
  /** The tfjs backend name. */
  backend: string;
  /** Kernel names @lenet/kernels now serves on this backend. */
  kernels: string[];
  /** Why our SIMD kernels stayed out (the stock kernels serve those calls), where they did. */
  simdSkipped?: string;
}
