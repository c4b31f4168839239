import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bitmap chunk rows of 16384 bits become rows of 8192 (BITMAP_CHUNK_BITS), as on SQLite, where a
 * smaller cell makes every receipt cheaper: one chunk size for both engines. Chunk `c` becomes
 * chunks `2c` and `2c + 1`, staged under negative numbers so no key collides while both exist.
 */
export class RechunkPostgresUploadBlocks1764500000000 implements MigrationInterface {
  name = 'RechunkPostgresUploadBlocks1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      INSERT INTO upload_blocks (upload_id, chunk, bits)
        SELECT upload_id, -1 - (chunk * 2 + half.k), substring(bits FROM half.k * 8192 + 1 FOR 8192)
        FROM upload_blocks, (VALUES (0), (1)) AS half (k)
        WHERE chunk >= 0 AND length(bits) > half.k * 8192`);
    await queryRunner.query(`DELETE FROM upload_blocks WHERE chunk >= 0`);
    await queryRunner.query(`UPDATE upload_blocks SET chunk = -1 - chunk`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // An odd chunk may exist without its even neighbour (blocks arrive in any order): zeros stand in.
    await queryRunner.query(`
      INSERT INTO upload_blocks (upload_id, chunk, bits)
        SELECT pair.upload_id, -1 - pair.c,
          coalesce(even.bits, repeat('0', 8192)::bit varying) || coalesce(odd.bits, B'')
        FROM (SELECT DISTINCT upload_id, chunk / 2 AS c FROM upload_blocks WHERE chunk >= 0) AS pair
        LEFT JOIN upload_blocks AS even ON even.upload_id = pair.upload_id AND even.chunk = pair.c * 2
        LEFT JOIN upload_blocks AS odd ON odd.upload_id = pair.upload_id AND odd.chunk = pair.c * 2 + 1`);
    await queryRunner.query(`DELETE FROM upload_blocks WHERE chunk >= 0`);
    await queryRunner.query(`UPDATE upload_blocks SET chunk = -1 - chunk`);
  }
}
