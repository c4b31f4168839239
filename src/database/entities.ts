import { SessionEntity } from '../auth/session.entity.js';
import { DataRecordEntity } from '../files/entities/data-record.entity.js';
import { UploadBlockChunkEntity } from '../files/entities/upload-block-chunk.entity.js';
import { UploadBlockMd5Entity } from '../files/entities/upload-block-md5.entity.js';
import { UploadEntity } from '../files/entities/upload.entity.js';
import { UserEntity } from '../users/user.entity.js';

/** Every TypeORM entity of stepd (listed, not globbed: ESM builds have no reliable globs). */
export const ENTITIES = [SessionEntity, UploadEntity, UploadBlockChunkEntity, UploadBlockMd5Entity, DataRecordEntity, UserEntity];
