import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server scratch databases are made on: STEP_TEST_DATABASE_URL, else the machine's PostgreSQL. */
const ADMIN_URL = process.env.STEP_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, empty PostgreSQL database for one spec file. */
export interface ScratchDatabase {
  /** Its URL, for STEP_DATABASE_URL. */
  url: string;
  /** Drops it (and any connection still open to it). */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
  } catch (err) {
    // No silent skip: a PostgreSQL spec without a server fails, and says how to give it one.
    throw new Error(
      `PostgreSQL specs need a server: none answered at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} ` +
        `(${(err as Error).message}); set STEP_TEST_DATABASE_URL to one where the user may CREATE DATABASE`,
      { cause: err },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a database with a random name on the test server; fails loudly when there is none. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `stepd_spec_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
