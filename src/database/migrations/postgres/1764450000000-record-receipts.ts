import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `step_record_receipts`: merges an instance's received-block bitmap chunks into an upload's
 * (bitwise OR, so instances receiving blocks of one upload never erase each other's) and returns
 * the number of blocks received by all of them together, or NULL when the upload is no longer
 * being uploaded (cancelled, restarted or completed elsewhere). The upload row is locked first,
 * so the receipts of one upload are serialised and the count is exact. One call is one round
 * trip, block MD5s included. The transaction it runs in commits with synchronous_commit off
 * (SET LOCAL: receipts only; docs/scale-out.md says what that promises).
 */
export class RecordReceipts1764450000000 implements MigrationInterface {
  name = 'RecordReceipts1764450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION step_record_receipts(p_upload varchar, p_chunks integer[], p_bits bytea[], p_md5_blocks integer[],
        p_md5s varchar[], p_now bigint, p_instance varchar)
      RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        i integer;
        incoming bit varying;
        before_count integer;
        after_count integer;
        added integer := 0;
        total integer;
      BEGIN
        PERFORM set_config('synchronous_commit', 'off', true);
        PERFORM 1 FROM uploads WHERE id = p_upload AND state = 'uploading' FOR UPDATE;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        FOR i IN 1 .. coalesce(array_length(p_chunks, 1), 0) LOOP
          incoming := ('x' || encode(p_bits[i], 'hex'))::bit varying;
          SELECT bit_count(bits) INTO before_count FROM upload_blocks WHERE upload_id = p_upload AND chunk = p_chunks[i];
          IF FOUND THEN
            UPDATE upload_blocks SET bits = bits | incoming WHERE upload_id = p_upload AND chunk = p_chunks[i]
              RETURNING bit_count(bits) INTO after_count;
          ELSE
            INSERT INTO upload_blocks (upload_id, chunk, bits) VALUES (p_upload, p_chunks[i], incoming);
            before_count := 0;
            after_count := bit_count(incoming);
          END IF;
          added := added + after_count - before_count;
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
        UPDATE uploads SET received_count = received_count + added, updated_at = p_now, served_by = p_instance
          WHERE id = p_upload RETURNING received_count INTO total;
        RETURN total;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION step_record_receipts(varchar, integer[], bytea[], integer[], varchar[], bigint, varchar)`);
  }
}
