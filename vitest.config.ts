import { defineConfig } from 'vitest/config';

/**
 * The e2e suites that also run on PostgreSQL (STEP_TEST_DB=postgres: every app and server child
 * gets STEP_DATABASE_URL of a fresh database). Chosen: every suite that writes or reads what the
 * database holds (sessions, accounts, uploads and receipts, DATA records, files) or restarts on
 * it, and health/metrics (they read the database). Left on SQLite only: the wire format, transport limits, TLS, backpressure, fuzzing and
 * adversarial framing (they never reach the database differently), the CLI's output and
 * credential prompts, operator/package checks, slow links and the bench smoke run
 * (timing-heavy: they would add minutes and test nothing the database changes), and power-loss
 * (it simulates a lost SQLite WAL tail, which has no PostgreSQL counterpart).
 */
const POSTGRES_E2E = [
  'accounts',
  'admin',
  'admin-users',
  'cli-resume',
  'cli-transfers',
  'crash-loop',
  'file-limits',
  'files',
  'health',
  'manage',
  'metrics',
  'multi-instance',
  'restart',
  'service',
  'session-isolation',
  'transport-auth',
  'upload-races',
].map((name) => `test/${name}.e2e-spec.ts`);

/**
 * The test-database helpers' own specs. The storage unit specs need no project of their own: they
 * run each test on both engines (`describe.each(SPEC_ENGINES)`, test/helpers/upload-services.ts).
 */
const POSTGRES_UNIT = ['test/helpers/postgres.spec.ts', 'test/helpers/postgres-embedded.spec.ts'];

/** What both PostgreSQL projects share: one server and template per run, a database per app. */
const onPostgres = {
  env: { STEP_TEST_DB: 'postgres' },
  globalSetup: ['test/helpers/postgres.global-setup.ts'],
  setupFiles: ['test/helpers/postgres.file-hooks.ts'],
};

// Unit specs sit beside the code; e2e suites boot the real app over real sockets.
// Each file runs in its own forked process so servers, ports and temp dirs never leak between files.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.spec.ts', 'bench/**/*.spec.ts', 'test/helpers/*.spec.ts'],
          exclude: ['test/helpers/postgres*.spec.ts'],
        },
      },
      { extends: true, test: { name: 'architecture', include: ['test/architecture.spec.ts'] } },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/**/*.e2e-spec.ts'], exclude: ['test/multi-instance.e2e-spec.ts'], fileParallelism: true },
      },
      { extends: true, test: { name: 'unit-postgres', include: POSTGRES_UNIT, ...onPostgres } },
      { extends: true, test: { name: 'e2e-postgres', include: POSTGRES_E2E, fileParallelism: true, ...onPostgres } },
      // Needs haproxy installed: only test/haproxy/run-haproxy-scenario.sh (from .ci/run) sets STEP_BALANCER=haproxy.
      ...(process.env.STEP_BALANCER === 'haproxy'
        ? [{ extends: true as const, test: { name: 'haproxy', include: ['test/haproxy/*.haproxy-spec.ts'] } }]
        : []),
    ],
  },
});
