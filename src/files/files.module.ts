import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SqliteWriter } from '../database/sqlite-writer.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockStorage } from './block-storage.repository.js';
import { DataController } from './data.controller.js';
import { DataRecordsService } from './data-records.service.js';
import { DataRecordEntity } from './entities/data-record.entity.js';
import { UploadBlockChunkEntity } from './entities/upload-block-chunk.entity.js';
import { UploadEntity } from './entities/upload.entity.js';
import { FileController } from './file.controller.js';
import { FilesService } from './files.service.js';
import { StoredFilesService } from './stored-files.service.js';
import { UploadFinisher } from './upload-finisher.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadProgressWriter } from './upload-progress.writer.js';
import { UploadRecoveryService } from './upload-recovery.service.js';
import { UploadsService } from './uploads.service.js';

/** FILE and DATA operations: block storage, upload progress in SQLite, DATA records. */
@Module({
  imports: [ScheduleModule.forRoot(), TypeOrmModule.forFeature([UploadEntity, UploadBlockChunkEntity, DataRecordEntity])],
  controllers: [FileController, DataController],
  providers: [
    SqliteWriter,
    BlockStorage,
    UploadLedger,
    UploadProgressWriter,
    ActiveUploadRegistry,
    UploadFinisher,
    UploadsService,
    StoredFilesService,
    UploadRecoveryService,
    DataRecordsService,
    FilesService,
  ],
  exports: [FilesService, BlockStorage, SqliteWriter],
})
export class FilesModule {}
