import type { DatabaseKind } from './database.options.js';

/** One SQL statement with `?` placeholders and its parameters. */
export interface SqlStatement {
  sql: string;
  params: readonly unknown[];
}

/**
 * The one door to the database for the repositories written in portable SQL: `?` placeholders,
 * rows as plain objects, every method a promise. SQLite answers from cached prepared statements
 * synchronously (the promise is already resolved); PostgreSQL sends named prepared statements
 * through the pool of TypeORM's driver. Repositories keep engine-specific SQL to themselves
 * (`kind`); nothing above them knows which engine answers.
 */
export abstract class SqlRunner {
  /** The engine behind this runner (for the repositories' engine-specific SQL only). */
  abstract readonly kind: DatabaseKind;
  /** The first row, or undefined. */
  abstract get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Every row. */
  abstract all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a write; resolves to the number of rows it changed. */
  abstract run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs the statements in one transaction, in order; resolves to each statement's rows. */
  abstract batch(statements: readonly SqlStatement[]): Promise<unknown[][]>;
  /**
   * `batch` for receipts (docs/scale-out.md): on PostgreSQL on a connection of its own whose
   * commits do not wait for their WAL flush (synchronous_commit off); elsewhere just `batch`.
   * One call at a time (the progress writer's group commit has one in flight).
   */
  receiptBatch(statements: readonly SqlStatement[]): Promise<unknown[][]> {
    return this.batch(statements);
  }
  /** Resolves once every commit made before the call would survive a power cut. */
  abstract durable(): Promise<void>;
  /** True when `err` is a unique-index violation (the same key inserted twice). */
  abstract isUniqueViolation(err: unknown): boolean;
}
