import { DataSource, type DataSourceOptions } from 'typeorm';

/**
 * Advisory lock key of the migration run (any constant; this is "stepd" in ASCII). Instances that
 * start together on one PostgreSQL database queue on it: the first migrates, the others then find
 * nothing pending. TypeORM itself takes no lock, and two instances creating one table fail one
 * of them.
 */
const MIGRATION_LOCK_KEY = 0x7374657064;

/**
 * Initialises a DataSource and runs its pending migrations, on PostgreSQL under a session advisory
 * lock held on one connection for the whole run (released by PostgreSQL if this process dies).
 * SQLite has one process per database file: its migrations run as TypeORM runs them.
 */
export async function initializeWithMigrations(options: DataSourceOptions): Promise<DataSource> {
  if (options.type !== 'postgres') return new DataSource(options).initialize();
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  try {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await dataSource.runMigrations({ transaction: 'all' });
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      await runner.release();
    }
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}
