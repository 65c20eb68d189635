import { lenetProject } from '../../vitest.shared';

export default lenetProject('@lenet/kernels');
