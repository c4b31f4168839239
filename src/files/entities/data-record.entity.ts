import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A small JSON record of one user (STEP type DATA). `body` holds only the user's own fields. */
@Entity('data_records')
@Index('idx_data_records_user_key', ['username', 'key'], { unique: true })
export class DataRecordEntity {
  @PrimaryColumn('varchar', { length: 36 })
  id: string;

  @Column('varchar', { length: 255 })
  username: string;

  @Column('text')
  key: string;

  /** JSON text of the stored fields. */
  @Column('text')
  body: string;

  @Column('integer', { name: 'created_at' })
  createdAt: number;
}
