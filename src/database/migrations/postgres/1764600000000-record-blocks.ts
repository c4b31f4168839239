import type { MigrationInterface, QueryRunner } from 'typeorm';
import { RecordReceipts1764450000000 } from './1764450000000-record-receipts.js';

/**
 * `step_record_blocks` replaces `step_record_receipts` as the receipt of one upload, at a fraction
 * of its cost. It takes the indexes of the blocks received since the last receipt and sets their
 * bits in the stored chunks (`set_bit`), instead of shipping and converting each changed 1 KiB
 * chunk; whole chunks are still OR-ed in when an instance cannot name its new blocks (after a
 * failed commit). It returns the number of blocks all instances together recorded, or NULL when
 * the upload is no longer being uploaded. The upload row is locked first, by every receipt and by
 * cancel, restart and completion, so the receipts of one upload are serialised and the count is
 * exact, yet the row is not rewritten by every receipt: the count is `uploads.full_blocks` (the
 * blocks of chunks whose every block arrived, updated when a chunk fills: once per 8192 blocks)
 * plus the bits of the chunks still open (`filled` false, found through a partial index: one or two
 * for an upload sent in order). The row's counters (received_count, updated_at, served_by) are
 * written only when `p_counters_at` is given (the caller's clock, at most once a second). It leaves
 * synchronous_commit alone: the connection that sends receipts turns it off for itself
 * (docs/scale-out.md). The old function is dropped: an instance of the previous version would
 * leave `filled` unset and the counts wrong (instances run the same version).
 *
 * Bit `k` of byte `b` of a chunk (block `8 * b + k` of it, least significant bit first, as in
 * BlockBitmap) is bit string position `8 * b + 7 - k`: `(block - first block of the chunk) # 7`.
 */
export class RecordBlocks1764600000000 implements MigrationInterface {
  name = 'RecordBlocks1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION step_record_receipts(varchar, integer[], bytea[], integer[], varchar[], bigint, varchar)`);
    await queryRunner.query(`ALTER TABLE "upload_blocks" ADD COLUMN "filled" boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`ALTER TABLE "uploads" ADD COLUMN "full_blocks" integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`
      UPDATE upload_blocks b SET filled = bit_count(b.bits) = least(8192, u.total_block - b.chunk * 8192)
        FROM uploads u WHERE u.id = b.upload_id`);
    await queryRunner.query(`
      UPDATE uploads u SET full_blocks = s.n
        FROM (SELECT upload_id, sum(bit_count(bits))::integer AS n FROM upload_blocks WHERE filled GROUP BY upload_id) s
        WHERE s.upload_id = u.id`);
    await queryRunner.query(`CREATE INDEX "idx_upload_blocks_open" ON "upload_blocks" ("upload_id") WHERE NOT "filled"`);
    await queryRunner.query(`
      CREATE FUNCTION step_set_blocks(p_bits bit varying, p_blocks integer[], p_first integer)
      RETURNS bit varying LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        b integer;
      BEGIN
        FOREACH b IN ARRAY p_blocks LOOP
          p_bits := set_bit(p_bits, (b - p_first) # 7, 1);
        END LOOP;
        RETURN p_bits;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION step_record_blocks(p_upload varchar, p_blocks integer[], p_chunks integer[], p_bits bytea[],
        p_md5_blocks integer[], p_md5s varchar[], p_counters_at bigint, p_instance varchar)
      RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        total integer;
        full_before integer;
        full_now integer;
        n integer := coalesce(array_length(p_blocks, 1), 0);
        i integer := 1;
        j integer;
        c integer;
        set_count integer;
        was_full boolean;
        received integer;
      BEGIN
        -- Serialises the receipts of this upload (every instance's), and refuses it once cancelled,
        -- restarted or completing: those lock the row too, and a waiter rereads it.
        SELECT total_block, full_blocks INTO total, full_before FROM uploads WHERE id = p_upload AND state = 'uploading' FOR NO KEY UPDATE;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        full_now := full_before;
        -- p_blocks is sorted: each run of blocks of one chunk is one update, then the whole chunks.
        WHILE i <= n + coalesce(array_length(p_chunks, 1), 0) LOOP
          IF i <= n THEN
            c := p_blocks[i] / 8192;
            j := i;
            WHILE j < n AND p_blocks[j + 1] / 8192 = c LOOP
              j := j + 1;
            END LOOP;
            UPDATE upload_blocks SET bits = step_set_blocks(bits, p_blocks[i:j], c * 8192) WHERE upload_id = p_upload AND chunk = c
              RETURNING bit_count(bits), filled INTO set_count, was_full;
            IF NOT FOUND THEN
              INSERT INTO upload_blocks (upload_id, chunk, bits) VALUES (p_upload, c,
                step_set_blocks(repeat('0', least(1024, (total + 7) / 8 - c * 1024) * 8)::bit varying, p_blocks[i:j], c * 8192))
                RETURNING bit_count(bits), filled INTO set_count, was_full;
            END IF;
            i := j + 1;
          ELSE
            c := p_chunks[i - n];
            INSERT INTO upload_blocks (upload_id, chunk, bits) VALUES (p_upload, c, ('x' || encode(p_bits[i - n], 'hex'))::bit varying)
              ON CONFLICT (upload_id, chunk) DO UPDATE SET bits = upload_blocks.bits | excluded.bits
              RETURNING bit_count(bits), filled INTO set_count, was_full;
            i := i + 1;
          END IF;
          -- A chunk whose every block arrived leaves the open ones (once per 8192 blocks).
          IF NOT was_full AND set_count = least(8192, total - c * 8192) THEN
            UPDATE upload_blocks SET filled = true WHERE upload_id = p_upload AND chunk = c;
            full_now := full_now + set_count;
          END IF;
        END LOOP;
        -- Block MD5s (docs/protocol.md §6): the MD5 of the bytes stored last; NULL forgets one.
        FOR i IN 1 .. coalesce(array_length(p_md5_blocks, 1), 0) LOOP
          IF p_md5s[i] IS NULL THEN
            DELETE FROM upload_block_md5s WHERE upload_id = p_upload AND block_index = p_md5_blocks[i];
          ELSE
            INSERT INTO upload_block_md5s (upload_id, block_index, md5) VALUES (p_upload, p_md5_blocks[i], p_md5s[i])
              ON CONFLICT (upload_id, block_index) DO UPDATE SET md5 = excluded.md5;
          END IF;
        END LOOP;
        SELECT full_now + coalesce(sum(bit_count(bits)), 0) INTO received FROM upload_blocks WHERE upload_id = p_upload AND NOT filled;
        IF p_counters_at IS NOT NULL THEN
          UPDATE uploads SET full_blocks = full_now, received_count = received, updated_at = p_counters_at, served_by = p_instance
            WHERE id = p_upload;
        ELSIF full_now <> full_before THEN
          UPDATE uploads SET full_blocks = full_now WHERE id = p_upload;
        END IF;
        RETURN received;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP FUNCTION step_record_blocks(varchar, integer[], integer[], bytea[], integer[], varchar[], bigint, varchar)`,
    );
    await queryRunner.query(`DROP FUNCTION step_set_blocks(bit varying, integer[], integer)`);
    await queryRunner.query(`DROP INDEX "idx_upload_blocks_open"`);
    await queryRunner.query(`ALTER TABLE "uploads" DROP COLUMN "full_blocks"`);
    await queryRunner.query(`ALTER TABLE "upload_blocks" DROP COLUMN "filled"`);
    // The old function counts on received_count being exact.
    await queryRunner.query(`
      UPDATE uploads u SET received_count = coalesce((SELECT sum(bit_count(bits)) FROM upload_blocks WHERE upload_id = u.id), 0)
        WHERE state = 'uploading'`);
    await new RecordReceipts1764450000000().up(queryRunner);
  }
}
