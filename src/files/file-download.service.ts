import { Injectable } from '@nestjs/common';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import type { BlockLease } from '../protocol/index.js';
import { StepReply } from '../transport/index.js';
import { grantBlockSize } from './block-size.js';
import { BlockStorage } from './block-storage.repository.js';
import type { FileRequestDto } from './dto/file-request.dto.js';
import { FilesErrors, requireKey } from './files.errors.js';
import { UploadLedger, type StoredFileRow } from './upload-ledger.repository.js';

/** Downloads of complete files (docs/protocol.md §7): FILE GET plans and FILE DOWNLOAD blocks, stateless. */
@Injectable()
export class FileDownloadService {
  constructor(
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly ledger: UploadLedger,
    private readonly storage: BlockStorage,
  ) {}

  /** FILE GET: the download plan of a complete file. */
  async plan(username: string, dto: FileRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'GET', this.config.storage.maxKeyBytes);
    const file = await this.completeFile(username, key);
    const blockSize = grantBlockSize(dto.block_size, this.config.storage);
    return StepReply.ok('OK. This is the download plan.', {
      key,
      size: file.size,
      total_block: Math.ceil(file.size / blockSize),
      block_size: blockSize,
      md5: file.md5,
    });
  }

  /** FILE DOWNLOAD: one block, in the block size the client's GET was granted (docs/protocol.md §7). */
  async block(username: string, dto: FileRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'DOWNLOAD', this.config.storage.maxKeyBytes);
    const file = await this.completeFile(username, key);
    const index = dto.block_index;
    if (index === undefined || index === null) throw FilesErrors.blockIndexMissing('DOWNLOAD');
    // Downloads are stateless: the block size must be one GET could have granted.
    const blockSize = dto.block_size ?? grantBlockSize(undefined, this.config.storage);
    const { minBlockSize, maxBlockSize } = this.config.storage;
    if (dto.block_size !== undefined && (blockSize < minBlockSize || blockSize > maxBlockSize)) {
      throw FilesErrors.downloadBlockSizeOutOfBounds(minBlockSize, maxBlockSize);
    }
    const total = Math.ceil(file.size / blockSize);
    if (index < 0 || index >= total) throw FilesErrors.downloadIndexOutOfRange(index, total);
    const offset = index * blockSize;
    const length = Math.min(blockSize, file.size - offset);
    let block: BlockLease;
    try {
      block = await this.storage.readFileBlock(file.storage_name, offset, length);
    } catch (err) {
      // A DELETE between the row lookup and the open: the key is gone, as a 404 says.
      if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') throw FilesErrors.keyNotFound(key);
      throw err;
    }
    const fields: Record<string, unknown> = { key, block_index: index, size: length };
    // docs/protocol.md §7: a block MD5 is known only for blocks the uploader declared, in the upload's block size.
    if (blockSize === file.block_size) {
      const known = await this.ledger.blockMd5(file.id, index);
      if (known) fields.block_md5 = known;
    }
    return StepReply.ok('An available block.', fields, block);
  }

  /** The complete file under `key`, or the 404s of docs/protocol.md §7. */
  private async completeFile(username: string, key: string): Promise<StoredFileRow> {
    const file = await this.ledger.findStored(username, key);
    if (!file) throw FilesErrors.keyNotFound(key);
    if (file.state !== 'complete') throw FilesErrors.notCompletelyUploaded(key);
    return file;
  }
}
