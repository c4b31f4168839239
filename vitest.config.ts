import { defineConfig } from 'vitest/config';

// Unit specs sit beside the code; e2e suites boot the real app over real sockets.
// Each file runs in its own forked process so servers, ports and temp dirs never leak between files.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.spec.ts', 'bench/**/*.spec.ts'] } },
      { extends: true, test: { name: 'architecture', include: ['test/architecture.spec.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.e2e-spec.ts'], fileParallelism: true } },
    ],
  },
});
