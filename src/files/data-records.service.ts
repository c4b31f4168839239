import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepReply } from '../transport/index.js';
import { STEP_LIST_LIMIT_DEFAULT, type StepJson } from '../protocol/index.js';
import type { DataRequestDto } from './dto/data-request.dto.js';
import { DataRecordStore } from './data-records.repository.js';
import { checkKeyLength, FilesErrors, requireKey } from './files.errors.js';

/** Request fields that belong to the protocol, never to a stored record (docs/protocol.md §8: no token, no password). */
const PROTOCOL_FIELDS = new Set(['type', 'operation', 'direction', 'status', 'status_msg', 'token', 'password', 'key']);

/** DATA records (docs/protocol.md §7, §8): small JSON objects per user, stored by DataRecordStore. */
@Injectable()
export class DataRecordsService {
  constructor(
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly records: DataRecordStore,
    private readonly clock: Clock,
  ) {}

  /** DATA SAVE: stores the request's own fields under `key` (default a UUID v4). */
  async save(username: string, dto: DataRequestDto, request: StepJson): Promise<StepReply> {
    const key =
      dto.key === undefined || dto.key === null || dto.key === '' ? randomUUID() : checkKeyLength(dto.key, this.config.storage.maxKeyBytes);
    const body: StepJson = {};
    for (const [field, value] of Object.entries(request)) if (!PROTOCOL_FIELDS.has(field)) body[field] = value;
    // No look-up of the key before the insert: the insert's unique index answers 402 (key exists) itself, so a
    // SAVE costs one statement (a round trip on PostgreSQL). Only a SAVE refused by the limit asks
    // whether the key exists, so that a stored key is still told 402 rather than 429 (too many).
    const limit = this.config.storage.maxDataRecordsPerUser;
    if (!(await this.records.reserve(username, limit))) {
      if (await this.records.exists(username, key)) throw FilesErrors.dataKeyExists(key);
      throw FilesErrors.tooManyRecords(limit);
    }
    let inserted = false;
    try {
      // The unique index decides between two SAVEs of one key (on any instance): one inserts, the other is told the key exists.
      inserted = await this.records.insert(randomUUID(), username, key, JSON.stringify(body), this.clock.now());
    } finally {
      if (!inserted) this.records.release(username);
    }
    if (!inserted) throw FilesErrors.dataKeyExists(key);
    return StepReply.ok(`Data is saved with key "${key}"`, { key });
  }

  /** DATA GET: the stored fields plus the reply fields. */
  async get(username: string, dto: DataRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'GET', this.config.storage.maxKeyBytes);
    const body = await this.records.body(username, key);
    if (body === undefined) throw FilesErrors.keyNotFound(key);
    return StepReply.ok('OK', { ...(JSON.parse(body) as StepJson), key });
  }

  /** DATA DELETE. */
  async delete(username: string, dto: DataRequestDto): Promise<StepReply> {
    const key = requireKey(dto.key, 'DELETE', this.config.storage.maxKeyBytes);
    if (!(await this.records.delete(username, key))) throw FilesErrors.keyNotFound(key);
    return StepReply.ok(`The "key" ${key} is deleted.`, { key });
  }

  /** DATA LIST (docs/protocol.md §8): the user's keys. */
  async list(username: string, dto: DataRequestDto): Promise<StepReply> {
    const keys = await this.records.keys(username, dto.prefix ?? '', dto.after ?? '', dto.limit ?? STEP_LIST_LIMIT_DEFAULT);
    return StepReply.ok('OK', { keys });
  }
}
