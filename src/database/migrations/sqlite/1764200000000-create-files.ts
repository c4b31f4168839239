import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Uploads and stored files, their received-block bitmaps and block MD5s, and DATA records. */
export class CreateFiles1764200000000 implements MigrationInterface {
  name = 'CreateFiles1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "uploads" (
        "id" varchar(36) PRIMARY KEY NOT NULL,
        "username" varchar(255) NOT NULL,
        "key" text NOT NULL,
        "size" integer NOT NULL,
        "block_size" integer NOT NULL,
        "total_block" integer NOT NULL,
        "state" varchar(16) NOT NULL,
        "received_count" integer NOT NULL,
        "storage_name" varchar(36) NOT NULL,
        "md5" varchar(32),
        "created_at" integer NOT NULL,
        "updated_at" integer NOT NULL,
        "completed_at" integer
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "idx_uploads_user_key" ON "uploads" ("username", "key")`);
    await queryRunner.query(`CREATE INDEX "idx_uploads_state" ON "uploads" ("state")`);
    await queryRunner.query(`
      CREATE TABLE "upload_blocks" (
        "upload_id" varchar(36) NOT NULL REFERENCES "uploads" ("id") ON DELETE CASCADE,
        "chunk" integer NOT NULL,
        "bits" blob NOT NULL,
        PRIMARY KEY ("upload_id", "chunk")
      )`);
    await queryRunner.query(`
      CREATE TABLE "upload_block_md5s" (
        "upload_id" varchar(36) NOT NULL REFERENCES "uploads" ("id") ON DELETE CASCADE,
        "block_index" integer NOT NULL,
        "md5" varchar(32) NOT NULL,
        PRIMARY KEY ("upload_id", "block_index")
      )`);
    await queryRunner.query(`
      CREATE TABLE "data_records" (
        "id" varchar(36) PRIMARY KEY NOT NULL,
        "username" varchar(255) NOT NULL,
        "key" text NOT NULL,
        "body" text NOT NULL,
        "created_at" integer NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "idx_data_records_user_key" ON "data_records" ("username", "key")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "data_records"`);
    await queryRunner.query(`DROP TABLE "upload_block_md5s"`);
    await queryRunner.query(`DROP TABLE "upload_blocks"`);
    await queryRunner.query(`DROP TABLE "uploads"`);
  }
}
