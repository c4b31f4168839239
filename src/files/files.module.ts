import { Module } from '@nestjs/common';

/** FILE and DATA operations: block storage, upload progress in SQLite, DATA records. */
@Module({})
export class FilesModule {}
