import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { StepOperation, StepType } from '../protocol/index.js';
import { StepBinary, StepPattern, StepReply, StepSessionParam, type StepSession } from '../transport/index.js';
import { FileRequestDto } from './dto/file-request.dto.js';
import { FileCatalogService } from './file-catalog.service.js';
import { FileDownloadService } from './file-download.service.js';
import { UploadReceiverService } from './upload-receiver.service.js';

/** STEP type FILE: thin handlers over the upload, download and catalogue services. */
@Controller()
export class FileController {
  constructor(
    private readonly uploads: UploadReceiverService,
    private readonly downloads: FileDownloadService,
    private readonly catalog: FileCatalogService,
  ) {}

  /** SAVE: upload plan. */
  @StepPattern(StepType.FILE, StepOperation.SAVE)
  save(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.uploads.plan(session.username, dto);
  }

  /** UPLOAD: one block as the binary section. */
  @StepPattern(StepType.FILE, StepOperation.UPLOAD, { binary: true })
  upload(
    @Payload() dto: FileRequestDto,
    @StepBinary() binary: Buffer | null,
    @StepSessionParam() session: StepSession,
  ): Promise<StepReply> {
    return this.uploads.receiveBlock(session.username, dto, binary);
  }

  /** STATUS (docs/protocol.md §6): progress of an upload, for resuming. */
  @StepPattern(StepType.FILE, StepOperation.STATUS)
  status(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.uploads.status(session.username, dto);
  }

  /** GET: download plan. */
  @StepPattern(StepType.FILE, StepOperation.GET)
  get(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.downloads.plan(session.username, dto);
  }

  /** DOWNLOAD: one block as the reply's binary section. */
  @StepPattern(StepType.FILE, StepOperation.DOWNLOAD, { repliesWithBlock: true })
  download(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.downloads.block(session.username, dto);
  }

  /** DELETE: a complete file, or cancels an unfinished upload. */
  @StepPattern(StepType.FILE, StepOperation.DELETE)
  delete(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.catalog.delete(session.username, dto);
  }

  /** LIST (docs/protocol.md §7): complete files, or unfinished uploads. */
  @StepPattern(StepType.FILE, StepOperation.LIST)
  list(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.catalog.list(session.username, dto);
  }
}
