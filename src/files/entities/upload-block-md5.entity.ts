import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The MD5 a client declared (and the server verified) for one block (docs/protocol.md §6). */
@Entity('upload_block_md5s')
export class UploadBlockMd5Entity {
  @PrimaryColumn('varchar', { name: 'upload_id', length: 36 })
  uploadId: string;

  @PrimaryColumn('integer', { name: 'block_index' })
  blockIndex: number;

  @Column('varchar', { length: 32 })
  md5: string;
}
