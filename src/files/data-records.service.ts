import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { SqliteWriter } from '../database/sqlite-writer.js';
import { StepReply } from '../transport/index.js';
import { STEP_LIST_LIMIT_DEFAULT, type StepJson } from '../protocol/index.js';
import type { DataRequestDto } from './dto/data-request.dto.js';
import { checkKeyLength, FilesErrors, requireKey } from './files.errors.js';

/** Request fields that belong to the protocol, never to a stored record (docs/protocol.md §8: no token, no password). */
const PROTOCOL_FIELDS = new Set(['type', 'operation', 'direction', 'status', 'status_msg', 'token', 'password', 'key']);

/**
 * DATA records (docs/protocol.md §7, §8): small JSON objects per user, stored in SQLite through
 * prepared statements (a DATA request is a few microseconds of SQL; a query builder costs more
 * than the query).
 */
@Injectable()
export class DataRecordsService {
  /**
   * Records per user, counted once and then kept up to date by SAVE and DELETE: counting an
   * index range is linear in the user's records, and the limit check runs on every SAVE. Only
   * this service writes `data_records`.
   */
  private readonly counts = new Map<string, number>();

  constructor(
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly sqlite: SqliteWriter,
    private readonly clock: Clock,
  ) {}

  /** DATA SAVE: stores the request's own fields under `key` (default a UUID v4). */
  save(username: string, dto: DataRequestDto, request: StepJson): StepReply {
    const key =
      dto.key === undefined || dto.key === null || dto.key === '' ? randomUUID() : checkKeyLength(dto.key, this.config.storage.maxKeyBytes);
    const body: StepJson = {};
    for (const [field, value] of Object.entries(request)) if (!PROTOCOL_FIELDS.has(field)) body[field] = value;
    // Check-then-insert runs without an await in between, so two SAVEs of one key cannot both pass.
    const exists = this.sqlite.statement(`SELECT 1 FROM data_records WHERE username = ? AND key = ?`).get(username, key);
    if (exists) throw FilesErrors.dataKeyExists(key);
    const count = this.countOf(username);
    if (count >= this.config.storage.maxDataRecordsPerUser) throw FilesErrors.tooManyRecords(this.config.storage.maxDataRecordsPerUser);
    this.sqlite
      .statement(`INSERT INTO data_records (id, username, key, body, created_at) VALUES (?, ?, ?, ?, ?)`)
      .run(randomUUID(), username, key, JSON.stringify(body), this.clock.now());
    this.counts.set(username, count + 1);
    return StepReply.ok(`Data is saved with key "${key}"`, { key });
  }

  /** DATA GET: the stored fields plus the reply fields. */
  get(username: string, dto: DataRequestDto): StepReply {
    const key = requireKey(dto.key, 'GET', this.config.storage.maxKeyBytes);
    const record = this.sqlite.statement(`SELECT body FROM data_records WHERE username = ? AND key = ?`).get(username, key) as
      { body: string } | undefined;
    if (!record) throw FilesErrors.keyNotFound(key);
    return StepReply.ok('OK', { ...(JSON.parse(record.body) as StepJson), key });
  }

  /** DATA DELETE. */
  delete(username: string, dto: DataRequestDto): StepReply {
    const key = requireKey(dto.key, 'DELETE', this.config.storage.maxKeyBytes);
    const { changes } = this.sqlite.statement(`DELETE FROM data_records WHERE username = ? AND key = ?`).run(username, key);
    if (changes === 0) throw FilesErrors.keyNotFound(key);
    const count = this.counts.get(username);
    if (count !== undefined) this.counts.set(username, count - 1);
    return StepReply.ok(`The "key" ${key} is deleted.`, { key });
  }

  /** DATA LIST (docs/protocol.md §8): the user's keys. */
  list(username: string, dto: DataRequestDto): StepReply {
    const prefix = dto.prefix ?? '';
    const rows = this.sqlite
      .statement(`SELECT key FROM data_records WHERE username = ? AND substr(key, 1, length(?)) = ? AND key > ? ORDER BY key LIMIT ?`)
      .all(username, prefix, prefix, dto.after ?? '', dto.limit ?? STEP_LIST_LIMIT_DEFAULT) as Array<{ key: string }>;
    return StepReply.ok('OK', { keys: rows.map((r) => r.key) });
  }

  /** The user's number of records (see `counts`). */
  private countOf(username: string): number {
    let count = this.counts.get(username);
    if (count === undefined) {
      count = (this.sqlite.statement(`SELECT COUNT(*) AS count FROM data_records WHERE username = ?`).get(username) as { count: number })
        .count;
      this.counts.set(username, count);
    }
    return count;
  }
}
