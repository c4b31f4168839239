import { DataRecordEntity } from './data-record.entity.js';
import { UploadBlockChunkEntity } from './upload-block-chunk.entity.js';
import { UploadBlockMd5Entity } from './upload-block-md5.entity.js';
import { UploadEntity } from './upload.entity.js';

/** The FilesModule's TypeORM entities (listed, not globbed: ESM builds have no reliable globs). */
export const FILES_ENTITIES = [UploadEntity, UploadBlockChunkEntity, UploadBlockMd5Entity, DataRecordEntity];
