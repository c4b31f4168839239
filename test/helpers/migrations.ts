import type { DataSource } from 'typeorm';

/**
 * Undoes the migrations applied after the one whose name starts with `name`, then that one: a
 * spec of a migration's down() keeps working when later migrations are added.
 */
export async function undoMigrationsThrough(dataSource: DataSource, name: string): Promise<void> {
  for (;;) {
    const [last] = (await dataSource.query(`SELECT name FROM migrations ORDER BY timestamp DESC LIMIT 1`)) as Array<{ name: string }>;
    if (!last) throw new Error(`no migration named ${name}* was applied`);
    await dataSource.undoLastMigration();
    if (last.name.startsWith(name)) return;
  }
}
