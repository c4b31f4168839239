import { CreateSessions1764100000000 } from './1764100000000-create-sessions.js';
import { CreateFiles1764200000000 } from './1764200000000-create-files.js';
import { CreateUsers1764300000000 } from './1764300000000-create-users.js';
import { AddUploadServedBy1764450000000 } from './1764450000000-add-upload-served-by.js';
import { RechunkSqliteUploadBlocks1764500000000 } from './1764500000000-rechunk-upload-blocks.js';

/** Every SQLite migration, oldest first. */
export const SQLITE_MIGRATIONS = [
  CreateSessions1764100000000,
  CreateFiles1764200000000,
  CreateUsers1764300000000,
  AddUploadServedBy1764450000000,
  RechunkSqliteUploadBlocks1764500000000,
];
