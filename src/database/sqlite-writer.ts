import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

/** The parts of a better-sqlite3 database handle stepd uses. */
export interface SqliteHandle {
  prepare(sql: string): SqliteStatement;
  transaction<T>(fn: () => T): () => T;
}

/** A prepared better-sqlite3 statement. */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/**
 * Runs multi-statement writes as one synchronous better-sqlite3 transaction. Synchronous means no
 * other JavaScript (and so no other TypeORM query) can interleave: TypeORM transactions share the
 * one better-sqlite3 connection and corrupt each other when they overlap, so stepd opens none and
 * serialises every multi-statement write here.
 */
@Injectable()
export class SqliteWriter {
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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
    return this.handle.transaction(fn)();
  }
}
