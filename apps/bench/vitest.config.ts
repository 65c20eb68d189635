import { lenetProject } from '../../vitest.shared';

// The GPU check's test makes the bundle (downloads and compresses Node once) and runs it on SwiftShader.
export default lenetProject('@lenet/bench', 900_000);
