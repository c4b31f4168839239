import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { open } from 'node:fs/promises';
import type { Database, Statement } from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import { GroupCommit } from '../common/group-commit.js';

/** The raw better-sqlite3 handle behind TypeORM's driver. */
export type SqliteHandle = Database;

/** A prepared better-sqlite3 statement. */
export type SqliteStatement = Statement<unknown[], unknown>;

/**
 * Runs multi-statement writes as one synchronous better-sqlite3 transaction. Synchronous means no
 * other JavaScript (and so no other TypeORM query) can interleave: TypeORM transactions share the
 * one better-sqlite3 connection and corrupt each other when they overlap, so stepd opens none and
 * serialises every multi-statement write here.
 */
@Injectable()
export class SqliteWriter {
  private readonly statements = new Map<string, SqliteStatement>();
  /**
   * better-sqlite3's `transaction(fn)` builds four wrapper functions per call; one wrapper that
   * runs its argument serves every transaction (nested calls still become savepoints).
   */
  private runInTransaction: (<T>(fn: () => T) => T) | null = null;
  /**
   * With synchronous=NORMAL a WAL commit is only written, not synced: it survives a crash of
   * the process but not a power cut. Syncing the WAL file makes every commit before it durable,
   * which is what FULL does per commit, but off the event loop (better-sqlite3 would block it
   * for each fsync) and shared by the callers that wait together. SQLite holds no POSIX lock
   * on the -wal file (WAL locks live in -shm), so opening and closing it here releases none.
   * A checkpoint that reset the WAL synced the database file first, so a missing or restarted
   * WAL holds nothing unsynced of what was committed before it.
   */
  private readonly walSync = new GroupCommit(async () => {
    let wal;
    try {
      wal = await open(`${this.dataSource.options.database as string}-wal`, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      await wal.datasync();
    } finally {
      await wal.close();
    }
  });

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Resolves once every commit made before the call would survive a power cut. */
  durable(): Promise<void> {
    return this.walSync.run();
  }

  /** The raw handle (better-sqlite3 `Database`) behind TypeORM's driver. */
  private get handle(): SqliteHandle {
    return (this.dataSource.driver as unknown as { databaseConnection: SqliteHandle }).databaseConnection;
  }

  /** A cached prepared statement. */
  statement(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.handle.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` inside BEGIN/COMMIT (rolled back if it throws). */
  transaction<T>(fn: () => T): T {
    this.runInTransaction ??= this.handle.transaction(<R>(body: () => R): R => body()) as <R>(body: () => R) => R;
    return this.runInTransaction(fn);
  }
}
