import { Injectable } from '@nestjs/common';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { STEP_LIST_LIMIT_DEFAULT } from '../protocol/index.js';
import { StepReply } from '../transport/index.js';
import { BlockStorage } from './block-storage.repository.js';
import type { FileRequestDto } from './dto/file-request.dto.js';
import { FilesErrors, requireKey } from './files.errors.js';
import { UploadLedger } from './upload-ledger.repository.js';
import { UploadListings, type FileListing } from './upload-listings.repository.js';
import { UploadReceiverService } from './upload-receiver.service.js';

/** The user's keys as a catalogue (docs/protocol.md §7): FILE LIST and FILE DELETE. */
@Injectable()
export class FileCatalogService {
  constructor(
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly ledger: UploadLedger,
    private readonly listings: UploadListings,
    private readonly storage: BlockStorage,
    private readonly uploads: UploadReceiverService,
  ) {}

  /** FILE DELETE: removes a complete file, or cancels an unfinished upload (docs/protocol.md §7). */
  async delete(username: string, dto: FileRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'DELETE', this.config.storage.maxKeyBytes);
    if (!(await this.deleteKey(username, key))) throw FilesErrors.keyNotFound(key);
    return StepReply.ok(`The "key" ${key} is deleted.`, { key });
  }

  /** Deletes a complete file or cancels an upload; false when the key does not exist. */
  async deleteKey(username: string, key: string): Promise<boolean> {
    if (await this.uploads.cancel(username, key)) return true;
    const file = await this.ledger.findStored(username, key);
    if (!file || file.state !== 'complete') return false;
    // Row first: once it is gone the file is invisible; a crash before the unlink leaves an
    // orphan that the sweep removes.
    await this.ledger.delete(file.id);
    await this.storage.removeFile(file.storage_name);
    return true;
  }

  /** FILE LIST (docs/protocol.md §7): the user's complete files, or unfinished uploads, by key. */
  async list(username: string, dto: FileRequestDto): Promise<StepReply> {
    if (dto.incomplete === true) {
      return StepReply.ok('OK', {
        files: await this.listings.listUploading(username, dto.prefix ?? '', dto.limit ?? STEP_LIST_LIMIT_DEFAULT, dto.after ?? ''),
      });
    }
    return StepReply.ok('OK', { files: await this.listFiles(username, dto.prefix, dto.limit, dto.after) });
  }

  /** Complete files of a user, optionally under a key prefix and after a key (paging). */
  listFiles(username: string, prefix = '', limit = STEP_LIST_LIMIT_DEFAULT, after = ''): Promise<FileListing[]> {
    return this.listings.listComplete(username, prefix, limit, after);
  }
}
