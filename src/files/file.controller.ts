import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { StepOperation, StepType } from '../protocol/index.js';
import { StepBinary, StepPattern, StepReply, StepSessionParam, type StepSession } from '../transport/index.js';
import { FileRequestDto } from './dto/file-request.dto.js';
import { StoredFilesService } from './stored-files.service.js';
import { UploadsService } from './uploads.service.js';

/** STEP type FILE: thin handlers over the upload and stored-file services. */
@Controller()
export class FileController {
  constructor(
    private readonly uploads: UploadsService,
    private readonly files: StoredFilesService,
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

  /** STATUS (extension C2): progress of an upload, for resuming. */
  @StepPattern(StepType.FILE, StepOperation.STATUS)
  status(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.uploads.status(session.username, dto);
  }

  /** GET: download plan. */
  @StepPattern(StepType.FILE, StepOperation.GET)
  get(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): StepReply {
    return this.files.plan(session.username, dto);
  }

  /** DOWNLOAD: one block as the reply's binary section. */
  @StepPattern(StepType.FILE, StepOperation.DOWNLOAD, { repliesWithBlock: true })
  download(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.files.block(session.username, dto);
  }

  /** DELETE: a complete file, or cancels an unfinished upload. */
  @StepPattern(StepType.FILE, StepOperation.DELETE)
  delete(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.files.delete(session.username, dto);
  }

  /** LIST (extension C3): complete files. */
  @StepPattern(StepType.FILE, StepOperation.LIST)
  list(@Payload() dto: FileRequestDto, @StepSessionParam() session: StepSession): StepReply {
    return this.files.list(session.username, dto);
  }
}
