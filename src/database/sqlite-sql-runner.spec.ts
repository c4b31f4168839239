import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteSqlRunner } from './sqlite-sql-runner.js';
import type { SqliteStatement, SqliteWriter } from './sqlite-writer.js';

/** A SqliteWriter on an in-memory database that counts the transactions it opens. */
function writerOn(db: Database.Database): SqliteWriter & { transactions: number } {
  const statements = new Map<string, SqliteStatement>();
  const writer = {
    transactions: 0,
    statement(sql: string) {
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = db.prepare(sql)));
      return statement;
    },
    transaction<T>(fn: () => T): T {
      writer.transactions++;
      return db.transaction(fn)();
    },
  };
  return writer as unknown as SqliteWriter & { transactions: number };
}

describe('SqliteSqlRunner.batch', () => {
  let db: Database.Database;
  afterEach(() => db?.close());

  it('runs a batch of one statement in autocommit, and longer batches in one transaction', async () => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
    const writer = writerOn(db);
    const runner = new SqliteSqlRunner(writer);

    await runner.batch([{ sql: 'INSERT INTO t (k, v) VALUES (?, ?)', params: [1, 'a'] }]);
    expect(writer.transactions).toBe(0);
    const rows = await runner.batch([
      { sql: 'INSERT INTO t (k, v) VALUES (?, ?)', params: [2, 'b'] },
      { sql: 'SELECT v FROM t ORDER BY k', params: [] },
    ]);
    expect(writer.transactions).toBe(1);
    expect(rows).toEqual([[], [{ v: 'a' }, { v: 'b' }]]);
  });

  it('writes nothing of a batch whose statement fails, with one statement or several', async () => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const runner = new SqliteSqlRunner(writerOn(db));

    await expect(runner.batch([{ sql: 'INSERT INTO t (k, v) VALUES (?, ?), (?, ?)', params: [1, 'a', 2, null] }])).rejects.toThrow();
    await expect(
      runner.batch([
        { sql: 'INSERT INTO t (k, v) VALUES (?, ?)', params: [3, 'c'] },
        { sql: 'INSERT INTO t (k, v) VALUES (?, ?)', params: [4, null] },
      ]),
    ).rejects.toThrow();
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
  });
});
