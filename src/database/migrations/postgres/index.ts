import { CreateSchema1764100000000 } from './1764100000000-create-schema.js';
import { CreateInstances1764400000000 } from './1764400000000-create-instances.js';
import { RecordReceipts1764450000000 } from './1764450000000-record-receipts.js';
import { RechunkPostgresUploadBlocks1764500000000 } from './1764500000000-rechunk-upload-blocks.js';
import { RecordBlocks1764600000000 } from './1764600000000-record-blocks.js';
import { CreateUploadHashing1764700000000 } from './1764700000000-create-upload-hashing.js';

/** Every PostgreSQL migration, oldest first. */
export const POSTGRES_MIGRATIONS = [
  CreateSchema1764100000000,
  CreateInstances1764400000000,
  RecordReceipts1764450000000,
  RechunkPostgresUploadBlocks1764500000000,
  RecordBlocks1764600000000,
  CreateUploadHashing1764700000000,
];
