import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataController } from './data.controller.js';
import { DataRecordStore } from './data-records.repository.js';
import { DataRecordsService } from './data-records.service.js';
import { BlockStorage } from './block-storage.repository.js';
import { FILES_ENTITIES } from './entities/index.js';
import { FileController } from './file.controller.js';
import { FileCatalogService } from './file-catalog.service.js';
import { FileDownloadService } from './file-download.service.js';
import { StorageOperationsService } from './storage-operations.service.js';
import { UploadListings } from './upload-listings.repository.js';
import { UPLOAD_PIPELINE_PROVIDERS } from './upload-pipeline.providers.js';
import { UploadRecoveryService } from './upload-recovery.service.js';

import { SqlRunner } from '../database/sql-runner.js';
import { SqliteWriter } from '../database/sqlite-writer.js';

/** FILE and DATA operations: block storage, upload progress in the database, DATA records. */
@Module({
  imports: [ScheduleModule.forRoot(), TypeOrmModule.forFeature(FILES_ENTITIES)],
  controllers: [FileController, DataController],
  providers: [
    ...UPLOAD_PIPELINE_PROVIDERS,
    FileDownloadService,
    FileCatalogService,
    UploadRecoveryService,
    UploadListings,
    DataRecordStore,
    DataRecordsService,
    StorageOperationsService,
  ],
  exports: [StorageOperationsService, BlockStorage, SqlRunner, SqliteWriter],
})
export class FilesModule {}
