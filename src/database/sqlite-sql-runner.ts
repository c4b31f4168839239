import type { SqlStatement } from './sql-runner.js';
import { SqlRunner } from './sql-runner.js';
import type { SqliteWriter } from './sqlite-writer.js';
import { isUniqueViolation } from './unique-violation.js';

/**
 * SqlRunner on the embedded SQLite: every call runs synchronously on a cached prepared statement
 * and returns an already settled promise, so no other JavaScript interleaves with a statement or
 * a batch (see SqliteWriter).
 */
export class SqliteSqlRunner extends SqlRunner {
  readonly kind = 'sqlite';

  constructor(private readonly sqlite: SqliteWriter) {
    super();
  }

  get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    try {
      return Promise.resolve(this.sqlite.statement(sql).get(...params) as T | undefined);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return Promise.resolve(this.sqlite.statement(sql).all(...params) as T[]);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return Promise.resolve(this.sqlite.statement(sql).run(...params).changes);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  batch(statements: readonly SqlStatement[]): Promise<unknown[][]> {
    try {
      return Promise.resolve(this.batchSync(statements));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /**
   * The batch as one synchronous transaction (rolled back if a statement throws). A batch of one
   * statement runs in autocommit, which is one transaction too: the BEGIN and COMMIT statements
   * around it would cost a receipt of a lock-step client (one block per commit) a tenth more.
   */
  batchSync(statements: readonly SqlStatement[]): unknown[][] {
    if (statements.length === 1) return [this.execute(statements[0])];
    return this.sqlite.transaction(() => statements.map((statement) => this.execute(statement)));
  }

  private execute({ sql, params }: SqlStatement): unknown[] {
    const statement = this.sqlite.statement(sql);
    if (statement.reader) return statement.all(...params);
    statement.run(...params);
    return [];
  }

  durable(): Promise<void> {
    return this.sqlite.durable();
  }

  isUniqueViolation(err: unknown): boolean {
    return isUniqueViolation(err);
  }
}
