import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, type Repository } from 'typeorm';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { databaseKind } from '../database/database.options.js';
import { SqliteWriter } from '../database/sqlite-writer.js';
import { isUniqueViolation } from '../database/unique-violation.js';
import { SessionEntity } from './session.entity.js';

/** The session columns under their entity names (SQLite returns plain rows). */
const SESSION_COLUMNS =
  '"id", "username", "token_hash" AS "tokenHash", "kind", "remote_address" AS "remoteAddress", ' +
  '"created_at" AS "createdAt", "last_seen_at" AS "lastSeenAt", "expires_at" AS "expiresAt", "revoked_at" AS "revokedAt"';

/**
 * The session reads and writes of every LOGIN and of a token's first check. On SQLite they are
 * cached prepared statements: TypeORM's query builder cost more CPU than the rest of a LOGIN.
 * On PostgreSQL the round trip dominates, so they stay TypeORM repository calls. Both commit
 * each write before resolving, as before (WAL with synchronous=NORMAL on SQLite).
 */
@Injectable()
export class SessionRepository {
  private readonly sqlite: boolean;
  /** Its own statement cache on the shared connection (not a provider: the app's SqliteWriter stays the only one). */
  private readonly writer: SqliteWriter;

  constructor(
    @InjectRepository(SessionEntity) private readonly sessions: Repository<SessionEntity>,
    @InjectDataSource() dataSource: DataSource,
    @InjectStepConfig() config: StepConfig,
  ) {
    this.sqlite = databaseKind(config) === 'sqlite';
    this.writer = new SqliteWriter(dataSource);
  }

  /** The session whose token has this SHA-256, or null. */
  async findByTokenHash(tokenHash: string): Promise<SessionEntity | null> {
    if (!this.sqlite) return this.sessions.findOneBy({ tokenHash });
    const row = this.writer.statement(`SELECT ${SESSION_COLUMNS} FROM "sessions" WHERE "token_hash" = ?`).get(tokenHash);
    return (row as SessionEntity | undefined) ?? null;
  }

  /** Inserts a session; false when another one already holds its token hash. */
  async insert(session: SessionEntity): Promise<boolean> {
    try {
      if (!this.sqlite) {
        await this.sessions.insert(session);
        return true;
      }
      this.writer
        .statement(
          'INSERT INTO "sessions" ("id", "username", "token_hash", "kind", "remote_address", "created_at", "last_seen_at", "expires_at", "revoked_at") ' +
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          session.id,
          session.username,
          session.tokenHash,
          session.kind,
          session.remoteAddress,
          session.createdAt,
          session.lastSeenAt,
          session.expiresAt,
          session.revokedAt,
        );
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Extends a session that is still open (not revoked); false when it was revoked meanwhile. */
  async renewOpen(id: string, expiresAt: number, lastSeenAt: number): Promise<boolean> {
    if (!this.sqlite) {
      const result = await this.sessions.update({ id, revokedAt: IsNull() }, { expiresAt, lastSeenAt });
      return result.affected === 1;
    }
    const sql = 'UPDATE "sessions" SET "expires_at" = ?, "last_seen_at" = ? WHERE "id" = ? AND "revoked_at" IS NULL';
    return this.writer.statement(sql).run(expiresAt, lastSeenAt, id).changes === 1;
  }
}
