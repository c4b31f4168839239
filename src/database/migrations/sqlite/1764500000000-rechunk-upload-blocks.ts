import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bitmap chunk rows of 2 KiB become rows of 1 KiB (BITMAP_CHUNK_BITS 16384 -> 8192): SQLite
 * rewrites a 2 KiB cell on every receipt at about twice the cost of a 1 KiB one. Chunk `c` becomes
 * chunks `2c` and `2c + 1`, staged under negative numbers so no key collides while both exist.
 */
export class RechunkSqliteUploadBlocks1764500000000 implements MigrationInterface {
  name = 'RechunkSqliteUploadBlocks1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      INSERT INTO "upload_blocks" ("upload_id", "chunk", "bits")
        SELECT "upload_id", -1 - ("chunk" * 2 + half.k), substr("bits", half.k * 1024 + 1, 1024)
        FROM "upload_blocks", (SELECT 0 AS k UNION ALL SELECT 1 AS k) AS half
        WHERE "chunk" >= 0 AND length("bits") > half.k * 1024`);
    await queryRunner.query(`DELETE FROM "upload_blocks" WHERE "chunk" >= 0`);
    await queryRunner.query(`UPDATE "upload_blocks" SET "chunk" = -1 - "chunk"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // An odd chunk may exist without its even neighbour (blocks arrive in any order): zeros stand
    // in. `||` makes text of blobs, so the halves are joined as hex.
    await queryRunner.query(`
      INSERT INTO "upload_blocks" ("upload_id", "chunk", "bits")
        SELECT pair."upload_id", -1 - pair.c,
          unhex(hex(coalesce(even."bits", zeroblob(1024))) || hex(coalesce(odd."bits", x'')))
        FROM (SELECT DISTINCT "upload_id", "chunk" / 2 AS c FROM "upload_blocks" WHERE "chunk" >= 0) AS pair
        LEFT JOIN "upload_blocks" AS even ON even."upload_id" = pair."upload_id" AND even."chunk" = pair.c * 2
        LEFT JOIN "upload_blocks" AS odd ON odd."upload_id" = pair."upload_id" AND odd."chunk" = pair.c * 2 + 1`);
    await queryRunner.query(`DELETE FROM "upload_blocks" WHERE "chunk" >= 0`);
    await queryRunner.query(`UPDATE "upload_blocks" SET "chunk" = -1 - "chunk"`);
  }
}
