import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../test/helpers/scratch-database.js';
import { isUniqueViolation } from './unique-violation.js';

describe('isUniqueViolation', () => {
  it("recognises SQLite's duplicate key and nothing else", () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, u TEXT UNIQUE, n TEXT NOT NULL)');
    db.prepare('INSERT INTO t VALUES (?, ?, ?)').run('a', 'x', 'n');
    const failure = (sql: string, ...params: unknown[]) => {
      try {
        db.prepare(sql).run(...params);
      } catch (err) {
        return err;
      }
      throw new Error('no failure');
    };
    expect(isUniqueViolation(failure('INSERT INTO t VALUES (?, ?, ?)', 'a', 'y', 'n'))).toBe(true);
    expect(isUniqueViolation(failure('INSERT INTO t VALUES (?, ?, ?)', 'b', 'x', 'n'))).toBe(true);
    expect(isUniqueViolation(failure('INSERT INTO t VALUES (?, ?, ?)', 'c', 'z', null))).toBe(false);
    db.close();
  });

  it("recognises PostgreSQL's duplicate key (SQLSTATE 23505) and nothing else", async () => {
    const scratch = await createScratchDatabase();
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      await client.query('CREATE TEMP TABLE t (k text PRIMARY KEY, n text NOT NULL)');
      await client.query(`INSERT INTO t VALUES ('a', 'n')`);
      const duplicate = await client.query(`INSERT INTO t VALUES ('a', 'n')`).catch((err: unknown) => err);
      const nullValue = await client.query(`INSERT INTO t VALUES ('b', NULL)`).catch((err: unknown) => err);
      expect(isUniqueViolation(duplicate)).toBe(true);
      expect(isUniqueViolation({ driverError: duplicate })).toBe(true);
      expect(isUniqueViolation(nullValue)).toBe(false);
      expect(isUniqueViolation(null)).toBe(false);
    } finally {
      await client.end();
      await scratch.drop();
    }
  });
});
