import { defineConfig } from 'vitest/config';

// One root config that runs every workspace: `pnpm vitest` here, or `pnpm test` (turbo) per package.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
