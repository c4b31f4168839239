import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { STEP_CONFIG, type StepConfig } from '../config/step.config.js';
import { databaseKind } from '../database/database.options.js';
import { ClusterEvents, LocalClusterEvents } from './cluster-events.js';
import { ClusterLocks, LocalClusterLocks } from './cluster-locks.js';
import { InstanceRegistry, LocalInstanceRegistry } from './instance-registry.js';
import { PgClusterEvents } from './pg-cluster-events.js';
import { PgClusterLocks } from './pg-cluster-locks.js';
import { PgInstanceRegistry } from './pg-instance-registry.js';
import type { SqlQuery } from './sql-query.js';

/** Statements of the cluster implementations on TypeORM's pool (the DataSource is initialised, migrations run). */
function sqlQuery(dataSource: DataSource): SqlQuery {
  return (sql, params) => dataSource.query(sql, params);
}

/**
 * Broadcast messages only: what `stepd users` needs to tell the servers that sessions were
 * revoked, without counting itself as an instance or opening a lock pool.
 */
@Global()
@Module({
  providers: [
    {
      provide: ClusterEvents,
      inject: [STEP_CONFIG, DataSource],
      useFactory: async (config: StepConfig, dataSource: DataSource): Promise<ClusterEvents> => {
        if (config.database.url === null) return new LocalClusterEvents();
        const events = new PgClusterEvents(config.database.url, sqlQuery(dataSource));
        await events.start();
        return events;
      },
    },
  ],
  exports: [ClusterEvents],
})
export class ClusterEventsModule {}

/**
 * Coordination among the instances sharing one database (docs/scale-out.md): named locks, instance
 * leases and broadcast messages. On SQLite one process is the whole cluster; on PostgreSQL they
 * are advisory locks, an `instances` table with heartbeats, and LISTEN/NOTIFY.
 */
@Global()
@Module({
  imports: [ClusterEventsModule],
  providers: [
    {
      provide: ClusterLocks,
      inject: [STEP_CONFIG],
      useFactory: (config: StepConfig): ClusterLocks =>
        config.database.url === null ? new LocalClusterLocks() : new PgClusterLocks(config.database.url),
    },
    {
      provide: InstanceRegistry,
      inject: [STEP_CONFIG, DataSource],
      // Registered before anyone gets it: recovery at startup already sees this instance as live.
      useFactory: async (config: StepConfig, dataSource: DataSource): Promise<InstanceRegistry> => {
        if (databaseKind(config) === 'sqlite') return new LocalInstanceRegistry(config.instance.id);
        const registry = new PgInstanceRegistry(sqlQuery(dataSource), config.instance.id);
        await registry.start();
        return registry;
      },
    },
  ],
  exports: [ClusterEventsModule, ClusterLocks, InstanceRegistry],
})
export class ClusterModule {}
