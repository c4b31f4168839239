import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { DATABASE_FILE } from '../../src/database/database.options.js';
import { databaseEnvFor } from './postgres.js';

/** Direct SQL on the database of a stopped stepd's data dir (to stage a crash), on either engine. */
export interface TestSql {
  /** Rows of `sql`; parameters are `$1`, `$2`, ... on both engines. */
  all<R>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** Opens the database a test app over `dataDir` uses: SQLite in it, or its PostgreSQL database in the PostgreSQL projects. */
export async function openTestSql(dataDir: string): Promise<TestSql> {
  const url = (await databaseEnvFor(dataDir)).STEP_DATABASE_URL;
  if (url) {
    const client = new pg.Client(url);
    await client.connect();
    return {
      all: async <R>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as R[],
      close: () => client.end(),
    };
  }
  const db = new Database(join(dataDir, DATABASE_FILE));
  return {
    // better-sqlite3 reads `$1` as a named parameter "1": bind by those names.
    all: <R>(sql: string, params: unknown[] = []) => {
      const statement = db.prepare(sql);
      const named = Object.fromEntries(params.map((value, i) => [String(i + 1), value]));
      return Promise.resolve((statement.reader ? statement.all(named) : (statement.run(named), [])) as R[]);
    },
    close: async () => {
      db.close();
    },
  };
}
