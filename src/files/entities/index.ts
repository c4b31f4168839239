import { DataRecordEntity } from './data-record.entity.js';
import { UploadBlockMd5Entity } from './upload-block-md5.entity.js';
import { UploadEntity } from './upload.entity.js';

/**
 * The FilesModule's TypeORM entities (listed, not globbed: ESM builds have no reliable globs).
 * The repositories query through SqlRunner; the bitmap chunks (`upload_blocks`, a blob on SQLite
 * and a bit string on PostgreSQL) have no entity.
 */
export const FILES_ENTITIES = [UploadEntity, UploadBlockMd5Entity, DataRecordEntity];
