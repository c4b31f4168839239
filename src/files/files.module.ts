import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SqliteWriter } from '../database/sqlite-writer.js';
import { ActiveUploadLoader } from './active-upload-loader.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockStorage } from './block-storage.repository.js';
import { DataController } from './data.controller.js';
import { DataRecordsService } from './data-records.service.js';
import { FILES_ENTITIES } from './entities/index.js';
import { FileController } from './file.controller.js';
import { FileCatalogService } from './file-catalog.service.js';
import { FileDownloadService } from './file-download.service.js';
import { PrefixCatchUp } from './prefix-catch-up.js';
import { StorageOperationsService } from './storage-operations.service.js';
import { UploadCounters } from './upload-counters.js';
import { UploadFinisher } from './upload-finisher.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadProgressWriter } from './upload-progress.writer.js';
import { UploadRecoveryService } from './upload-recovery.service.js';
import { UploadReceiverService } from './upload-receiver.service.js';

/** FILE and DATA operations: block storage, upload progress in SQLite, DATA records. */
@Module({
  imports: [ScheduleModule.forRoot(), TypeOrmModule.forFeature(FILES_ENTITIES)],
  controllers: [FileController, DataController],
  providers: [
    SqliteWriter,
    BlockStorage,
    UploadLedger,
    UploadProgressWriter,
    UploadCounters,
    ActiveUploadRegistry,
    ActiveUploadLoader,
    PrefixCatchUp,
    UploadFinisher,
    UploadReceiverService,
    FileDownloadService,
    FileCatalogService,
    UploadRecoveryService,
    DataRecordsService,
    StorageOperationsService,
  ],
  exports: [StorageOperationsService, BlockStorage, SqliteWriter],
})
export class FilesModule {}
