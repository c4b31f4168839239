import { DynamicModule, Module } from '@nestjs/common';
import { StorageAdminModule } from './admin/storage-admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ClusterModule } from './cluster/cluster.module.js';
import { CommonModule } from './common/common.module.js';
import { StepConfigModule } from './config/config.module.js';
import type { StepConfig } from './config/step.config.js';
import { DatabaseModule } from './database/database.module.js';
import { FilesModule } from './files/files.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { TransportModule } from './transport/transport.module.js';
import { UsersAdminModule } from './admin/users-admin.module.js';

/** The stepd application: feature modules only. */
@Module({})
export class AppModule {
  /** Builds the module tree for an already validated config. */
  static forRoot(config: StepConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        StepConfigModule.forRoot(config),
        CommonModule,
        DatabaseModule,
        ClusterModule,
        TransportModule,
        AuthModule,
        FilesModule,
        HealthModule,
        MetricsModule,
        StorageAdminModule,
        UsersAdminModule,
      ],
    };
  }
}
