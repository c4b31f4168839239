/**
 * Runs one parameterised SQL statement (the app passes TypeORM's DataSource.query, specs a pg
 * pool's). For a SELECT or an INSERT ... RETURNING it resolves to the result rows.
 */
export type SqlQuery = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/** PostgreSQL's clock in epoch ms: every instance compares leases on the database's clock, not its own. */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
