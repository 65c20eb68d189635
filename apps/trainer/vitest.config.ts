import { lenetProject } from '../../vitest.shared';

// CLI tests run real (short) trainings on real MNIST, so they get more time.
export default lenetProject('@lenet/trainer', 300_000);
