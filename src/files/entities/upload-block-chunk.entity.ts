import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A slice of an upload's received-block bitmap. Chunking keeps a progress write proportional to
 * what changed, not to the file's block count.
 */
@Entity('upload_blocks')
export class UploadBlockChunkEntity {
  @PrimaryColumn('varchar', { name: 'upload_id', length: 36 })
  uploadId: string;

  @PrimaryColumn('integer')
  chunk: number;

  @Column('blob')
  bits: Buffer;
}
