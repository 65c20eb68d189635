import { defineProject } from 'vitest/config';

// Tests import workspace packages from source (the "@lenet/source" export condition), so they run without a build.
export function lenetProject(name: string, testTimeoutMs = 60_000) {
  return defineProject({
    resolve: { conditions: ['@lenet/source'] },
    ssr: { resolve: { conditions: ['@lenet/source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: testTimeoutMs,
      hookTimeout: testTimeoutMs,
      // tfjs backends are process-global; forks give every test file a process of its own.
      pool: 'forks',
    },
  });
}
