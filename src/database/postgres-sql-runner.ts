import type { OnApplicationShutdown } from '@nestjs/common';
import type { Client, Pool, PoolClient, QueryConfig } from 'pg';
import type { SqlStatement } from './sql-runner.js';
import { SqlRunner } from './sql-runner.js';
import { isUniqueViolation } from './unique-violation.js';

/** `?` placeholders as PostgreSQL's `$1, $2, ...` (a `?` inside a quoted literal stays). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const char of sql) {
    if (char === "'") quoted = !quoted;
    out += char === '?' && !quoted ? `$${++n}` : char;
  }
  return out;
}

const NUL = '\u0000';
const ESC = '\u0001';

/**
 * STEP keys are any string (docs/protocol.md §6), NUL included, which PostgreSQL text refuses.
 * Strings go in with NUL as ESC ESC and ESC (U+0001) as ESC U+0002: a prefix-free code that keeps
 * byte order, so key order (COLLATE "C"), `key > ?` paging and prefix matches are unchanged.
 */
export function escapeText(text: string): string {
  if (!text.includes(NUL) && !text.includes(ESC)) return text;
  return text.replaceAll(ESC, `${ESC}\u0002`).replaceAll(NUL, ESC + ESC);
}

/** The inverse of escapeText. */
export function unescapeText(text: string): string {
  if (!text.includes(ESC)) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== ESC) out += text[i];
    else out += text[++i] === ESC ? NUL : ESC;
  }
  return out;
}

function escapeParams(params: readonly unknown[]): unknown[] {
  return params.map((param) => (typeof param === 'string' ? escapeText(param) : param));
}

function unescapeRows(rows: Array<Record<string, unknown>>): void {
  for (const row of rows) {
    for (const field in row) {
      const value = row[field];
      if (typeof value === 'string' && value.includes(ESC)) row[field] = unescapeText(value);
    }
  }
}

/**
 * SqlRunner on PostgreSQL through the pg pool behind TypeORM's driver. Each distinct SQL string
 * is translated once and sent as a named prepared statement (parsed once per pooled connection).
 * A batch takes one connection for BEGIN ... COMMIT; a single-statement batch is sent alone, as
 * its own transaction, which saves two round trips. Text goes through escapeText.
 *
 * Receipts (`receiptBatch`) go through one more connection, opened like the pool's and kept for
 * them: `SET synchronous_commit = off` is sent once when it opens instead of in every receipt,
 * and no pool checkout sits between a block and its receipt.
 */
export class PostgresSqlRunner extends SqlRunner implements OnApplicationShutdown {
  readonly kind = 'postgres';
  private readonly queries = new Map<string, { name: string; text: string }>();
  private receiptClient: Promise<Client> | null = null;

  constructor(private readonly pool: () => Pool) {
    super();
  }

  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(this.pool(), sql, params))[0];
  }

  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.query<T>(this.pool(), sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    const result = await this.pool().query(this.config(sql, params));
    return result.rowCount ?? 0;
  }

  async batch(statements: readonly SqlStatement[]): Promise<unknown[][]> {
    if (statements.length === 1) {
      return [await this.query(this.pool(), statements[0].sql, statements[0].params)];
    }
    const client = await this.pool().connect();
    let broken: Error | undefined;
    try {
      return await this.transaction(client, statements);
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw err;
    } finally {
      // A connection whose ROLLBACK failed may be in any state: the pool must not reuse it.
      client.release(broken);
    }
  }

  /**
   * Commits with synchronous_commit off (docs/scale-out.md, "Receipts"): a crash of stepd loses
   * nothing once this resolves; a crash of PostgreSQL may lose the last receipts.
   */
  override async receiptBatch(statements: readonly SqlStatement[]): Promise<unknown[][]> {
    const client = await this.receiptConnection();
    try {
      return await this.transaction(client, statements);
    } catch (err) {
      // After a failed statement or a broken connection, a fresh connection is the one known state.
      void this.closeReceiptConnection();
      throw err;
    }
  }

  /** Closes the receipts connection (the pool is TypeORM's to end). */
  onApplicationShutdown(): Promise<void> {
    return this.closeReceiptConnection();
  }

  /**
   * Commits are synchronous (the server default) except where a transaction turns that off for
   * itself (receipts); a synchronous commit flushes the WAL up to itself, earlier commits included.
   */
  durable(): Promise<void> {
    return Promise.resolve();
  }

  isUniqueViolation(err: unknown): boolean {
    return isUniqueViolation(err);
  }

  private receiptConnection(): Promise<Client> {
    if (this.receiptClient) return this.receiptClient;
    const opening = this.openReceiptConnection(() => {
      // Failed while idle: replaced on the next receipt, not thrown at the process.
      if (this.receiptClient === opening) void this.closeReceiptConnection();
    });
    this.receiptClient = opening;
    opening.catch(() => {
      if (this.receiptClient === opening) this.receiptClient = null;
    });
    return opening;
  }

  private async openReceiptConnection(onError: () => void): Promise<Client> {
    // The pool's own client class and options (credentials, TLS), as the pool opens its connections.
    const pool = this.pool() as Pool & { Client: typeof Client };
    const client = new pool.Client(pool.options);
    client.on('error', onError);
    try {
      await client.connect();
      await client.query('SET synchronous_commit = off');
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private async closeReceiptConnection(): Promise<void> {
    const opening = this.receiptClient;
    this.receiptClient = null;
    const client = await opening?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  /** Runs the statements on one connection in one transaction (a single one in autocommit); each statement's rows. */
  private async transaction(client: PoolClient | Client, statements: readonly SqlStatement[]): Promise<unknown[][]> {
    if (statements.length === 1) return [await this.query(client, statements[0].sql, statements[0].params)];
    await client.query('BEGIN');
    const results: unknown[][] = [];
    for (const { sql, params } of statements) results.push(await this.query(client, sql, params));
    await client.query('COMMIT');
    return results;
  }

  private async query<T>(target: Pool | PoolClient | Client, sql: string, params: readonly unknown[]): Promise<T[]> {
    const result = await target.query(this.config(sql, params));
    unescapeRows(result.rows as Array<Record<string, unknown>>);
    return result.rows as T[];
  }

  private config(sql: string, params: readonly unknown[]): QueryConfig {
    let prepared = this.queries.get(sql);
    if (!prepared) {
      prepared = { name: `step_${this.queries.size}`, text: numberPlaceholders(sql) };
      this.queries.set(sql, prepared);
    }
    return { name: prepared.name, text: prepared.text, values: escapeParams(params) };
  }
}
