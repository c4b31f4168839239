import { Global, Module } from '@nestjs/common';
import { ClusterEvents, LocalClusterEvents } from './cluster-events.js';
import { ClusterLocks, LocalClusterLocks } from './cluster-locks.js';
import { InstanceRegistry, LocalInstanceRegistry } from './instance-registry.js';

/**
 * Coordination among the instances sharing one database (docs/scale-out.md): named locks, instance
 * leases and broadcast messages. On SQLite one process is the whole cluster.
 */
@Global()
@Module({
  providers: [
    { provide: ClusterLocks, useClass: LocalClusterLocks },
    { provide: ClusterEvents, useClass: LocalClusterEvents },
    { provide: InstanceRegistry, useClass: LocalInstanceRegistry },
  ],
  exports: [ClusterLocks, ClusterEvents, InstanceRegistry],
})
export class ClusterModule {}
