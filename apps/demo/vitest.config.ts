import { lenetProject } from '../../vitest.shared';

// Browser tests start Chromium and wait for WebGPU on SwiftShader (a software GPU): allow minutes, not seconds.
export default lenetProject('demo', 180_000);
