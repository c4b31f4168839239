import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Lifecycle of a stored key: blocks arriving, being finalised, or a complete visible file. */
export type UploadState = 'uploading' | 'completing' | 'complete';

/**
 * One key of one user: an upload in progress or, once complete, a stored file. Which blocks
 * arrived is kept in `upload_blocks` (bitmap chunks). Times are epoch ms.
 */
@Entity('uploads')
@Index('idx_uploads_user_key', ['username', 'key'], { unique: true })
export class UploadEntity {
  @PrimaryColumn('varchar', { length: 36 })
  id: string;

  @Column('varchar', { length: 255 })
  username: string;

  /** The client's key, opaque and never used as a path. */
  @Column('text')
  key: string;

  @Column('integer')
  size: number;

  @Column('integer', { name: 'block_size' })
  blockSize: number;

  @Column('integer', { name: 'total_block' })
  totalBlock: number;

  @Index('idx_uploads_state')
  @Column('varchar', { length: 16 })
  state: UploadState;

  @Column('integer', { name: 'received_count' })
  receivedCount: number;

  /** Server-chosen file name (a UUID) under the data dir. */
  @Column('varchar', { name: 'storage_name', length: 36 })
  storageName: string;

  @Column('varchar', { length: 32, nullable: true })
  md5: string | null;

  @Column('integer', { name: 'created_at' })
  createdAt: number;

  @Column('integer', { name: 'updated_at' })
  updatedAt: number;

  @Column('integer', { name: 'completed_at', nullable: true })
  completedAt: number | null;

  /** The instance that last opened or recorded this upload (docs/scale-out.md); null before any did. */
  @Column('varchar', { name: 'served_by', length: 36, nullable: true })
  servedBy: string | null;
}
