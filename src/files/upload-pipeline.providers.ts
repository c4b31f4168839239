import type { Provider } from '@nestjs/common';
import { SQL_RUNNER_PROVIDERS } from '../database/sql-runner.providers.js';
import { ActiveUploadLoader } from './active-upload-loader.js';
import { ActiveUploadRegistry } from './active-upload-registry.js';
import { BlockStorage } from './block-storage.repository.js';
import { PrefixCatchUp } from './prefix-catch-up.js';
import { SharedPrefixHash } from './shared-prefix-hash.js';
import { UploadCounters } from './upload-counters.js';
import { UploadFinisher } from './upload-finisher.js';
import { UploadHashing } from './upload-hashing.repository.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadProgressWriter } from './upload-progress.writer.js';
import { UploadReceipts } from './upload-receipts.repository.js';
import { UploadReceiverService } from './upload-receiver.service.js';

/**
 * Everything an upload needs from SAVE to its final MD5, from storage up to the rules. FilesModule
 * provides it; the upload-service specs build the same set without the controllers.
 */
export const UPLOAD_PIPELINE_PROVIDERS: Provider[] = [
  ...SQL_RUNNER_PROVIDERS,
  BlockStorage,
  UploadLedger,
  UploadReceipts,
  UploadProgressWriter,
  UploadCounters,
  ActiveUploadRegistry,
  ActiveUploadLoader,
  PrefixCatchUp,
  UploadHashing,
  SharedPrefixHash,
  UploadFinisher,
  UploadReceiverService,
];
