import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A login session. The token itself is never stored, only its SHA-256 hash. Times are epoch ms. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn('varchar', { length: 36 })
  id: string;

  @Index('idx_sessions_username')
  @Column('varchar', { length: 255 })
  username: string;

  @Index('idx_sessions_token_hash', { unique: true })
  @Column('varchar', { name: 'token_hash', length: 64 })
  tokenHash: string;

  /** `legacy` (docs/protocol.md §3 format) or `random` (accounts mode). */
  @Column('varchar', { length: 16 })
  kind: 'legacy' | 'random';

  @Column('varchar', { name: 'remote_address', length: 64, nullable: true })
  remoteAddress: string | null;

  @Column('integer', { name: 'created_at' })
  createdAt: number;

  @Column('integer', { name: 'last_seen_at' })
  lastSeenAt: number;

  @Column('integer', { name: 'expires_at' })
  expiresAt: number;

  @Column('integer', { name: 'revoked_at', nullable: true })
  revokedAt: number | null;
}
