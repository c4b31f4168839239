import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { StepOperation, StepType } from '../protocol/index.js';
import { StepPattern, StepReply, StepRequestJson, StepSessionParam, type StepSession } from '../transport/index.js';
import type { StepJson } from '../protocol/index.js';
import { DataRecordsService } from './data-records.service.js';
import { DataRequestDto } from './dto/data-request.dto.js';

/** STEP type DATA: small JSON records per user. */
@Controller()
export class DataController {
  constructor(private readonly records: DataRecordsService) {}

  /** SAVE: stores the request's own fields. */
  @StepPattern(StepType.DATA, StepOperation.SAVE)
  save(@Payload() dto: DataRequestDto, @StepRequestJson() request: StepJson, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.records.save(session.username, dto, request);
  }

  /** GET: a stored record. */
  @StepPattern(StepType.DATA, StepOperation.GET)
  get(@Payload() dto: DataRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.records.get(session.username, dto);
  }

  /** DELETE: a stored record. */
  @StepPattern(StepType.DATA, StepOperation.DELETE)
  delete(@Payload() dto: DataRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.records.delete(session.username, dto);
  }

  /** LIST (docs/protocol.md §8): the user's keys. */
  @StepPattern(StepType.DATA, StepOperation.LIST)
  list(@Payload() dto: DataRequestDto, @StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.records.list(session.username, dto);
  }
}
