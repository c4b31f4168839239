import { Injectable } from '@nestjs/common';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import type { BlockLease } from '../protocol/index.js';
import { StepReply } from '../transport/index.js';
import { BlockStorage } from './block-storage.repository.js';
import type { FileRequestDto } from './dto/file-request.dto.js';
import { FilesErrors, requireKey } from './files.errors.js';
import { UploadLedger, type FileListing, type StoredFileRow } from './upload-ledger.repository.js';
import { UploadsService } from './uploads.service.js';

const DEFAULT_LIST_LIMIT = 1000;

/** The download side of FILE (docs/protocol.md §6, §7): plans, blocks, listing and deletion. */
@Injectable()
export class StoredFilesService {
  constructor(
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly ledger: UploadLedger,
    private readonly storage: BlockStorage,
    private readonly uploads: UploadsService,
  ) {}

  /** FILE GET: the download plan of a complete file. */
  plan(username: string, dto: FileRequestDto): StepReply {
    const key = requireKey(dto.key, 'GET', this.config.storage.maxKeyBytes);
    const file = this.completeFile(username, key);
    const blockSize = this.uploads.grantBlockSize(dto.block_size);
    return StepReply.ok('OK. This is the download plan.', {
      key,
      size: file.size,
      total_block: Math.ceil(file.size / blockSize),
      block_size: blockSize,
      md5: file.md5,
    });
  }

  /** FILE DOWNLOAD: one block, in the block size the client's GET was granted (C1). */
  async block(username: string, dto: FileRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'DOWNLOAD', this.config.storage.maxKeyBytes);
    const file = this.completeFile(username, key);
    const index = dto.block_index;
    if (index === undefined || index === null) throw FilesErrors.blockIndexMissing('DOWNLOAD');
    // Downloads are stateless: the block size must be one GET could have granted.
    const blockSize = dto.block_size ?? this.uploads.grantBlockSize(undefined);
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
    // C4: a block MD5 is known only for blocks the uploader declared, in the upload's block size.
    if (blockSize === file.block_size) {
      const known = this.ledger.blockMd5(file.id, index);
      if (known) fields.block_md5 = known;
    }
    return StepReply.ok('An available block.', fields, block);
  }

  /** FILE DELETE: removes a complete file, or cancels an unfinished upload (docs/protocol.md ). */
  async delete(username: string, dto: FileRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'DELETE', this.config.storage.maxKeyBytes);
    if (!(await this.deleteKey(username, key))) throw FilesErrors.keyNotFound(key);
    return StepReply.ok(`The "key" ${key} is deleted.`, { key });
  }

  /** Deletes a complete file or cancels an upload; false when the key does not exist. */
  async deleteKey(username: string, key: string): Promise<boolean> {
    if (await this.uploads.cancel(username, key)) return true;
    const file = this.ledger.findStored(username, key);
    if (!file || file.state !== 'complete') return false;
    // Row first: once it is gone the file is invisible; a crash before the unlink leaves an
    // orphan that the sweep removes.
    this.ledger.delete(file.id);
    await this.storage.removeFile(file.storage_name);
    return true;
  }

  /** FILE LIST (docs/protocol.md §7): the user's complete files, by key. */
  list(username: string, dto: FileRequestDto): StepReply {
    if (dto.incomplete === true) {
      return StepReply.ok('OK', {
        files: this.ledger.listUploading(username, dto.prefix ?? '', dto.limit ?? DEFAULT_LIST_LIMIT, dto.after ?? ''),
      });
    }
    return StepReply.ok('OK', { files: this.listFiles(username, dto.prefix, dto.limit, dto.after) });
  }

  /** Complete files of a user, optionally under a key prefix and after a key (paging). */
  listFiles(username: string, prefix = '', limit = DEFAULT_LIST_LIMIT, after = ''): FileListing[] {
    return this.ledger.listComplete(username, prefix, limit, after);
  }

  /** The complete file under `key`, or the 404s of docs/protocol.md §7. */
  private completeFile(username: string, key: string): StoredFileRow {
    const file = this.ledger.findStored(username, key);
    if (!file) throw FilesErrors.keyNotFound(key);
    if (file.state !== 'complete') throw FilesErrors.notCompletelyUploaded(key);
    return file;
  }
}
