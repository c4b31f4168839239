import type { Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { PostgresSqlRunner } from './postgres-sql-runner.js';
import { SqlRunner } from './sql-runner.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteSqlRunner } from './sqlite-sql-runner.js';
import { SqliteWriter } from './sqlite-writer.js';

/** The SqlRunner of the app's DataSource engine, and the SQLite writer and checkpointer behind the SQLite one. */
export const SQL_RUNNER_PROVIDERS: Provider[] = [
  SqliteWriter,
  SqliteCheckpointer,
  {
    provide: SqlRunner,
    inject: [getDataSourceToken(), SqliteWriter],
    useFactory: (dataSource: DataSource, sqlite: SqliteWriter): SqlRunner =>
      dataSource.options.type === 'postgres'
        ? new PostgresSqlRunner(() => (dataSource.driver as unknown as { master: Pool }).master)
        : new SqliteSqlRunner(sqlite),
  },
];
