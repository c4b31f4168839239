import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseUrl, queryOn, resolvePostgresServer, type PostgresServer } from './postgres-server.js';

/** A fresh, empty PostgreSQL database for one spec. */
export interface ScratchDatabase {
  /** Its URL, for STEP_DATABASE_URL. */
  url: string;
  /** Drops it (and any connection still open to it). */
  drop(): Promise<void>;
}

/**
 * The server of this process's scratch databases, found once (STEP_TEST_DATABASE_URL, the
 * machine's, or an embedded one stopped when the process exits); fails loudly when there is none.
 */
let server: Promise<PostgresServer> | null = null;

function testServer(): Promise<PostgresServer> {
  server ??= resolvePostgresServer().then((found) => {
    if (found.source === 'embedded') process.once('beforeExit', () => void found.stop());
    return found;
  });
  return server;
}

/** Creates a database with a random name (migrations run when stepd connects). */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const { adminUrl } = await testServer();
  const name = `stepd_spec_${randomBytes(6).toString('hex')}`;
  await queryOn(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  return {
    url: databaseUrl(adminUrl, name),
    drop: async () => {
      await queryOn(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}
