import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `upload_hashing`: which instance's prefix MD5 counts for an upload whose blocks reach several
 * instances (src/files/shared-prefix-hash.ts), how far it has hashed, and the digest once it
 * handed it over. `owner` NULL means no instance's prefix MD5 can be trusted (a block was written
 * twice): the instance completing the upload hashes the file. SQLite has no such table: one
 * process receives every block there.
 */
export class CreateUploadHashing1764700000000 implements MigrationInterface {
  name = 'CreateUploadHashing1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "upload_hashing" (
        "upload_id" varchar(36) PRIMARY KEY NOT NULL REFERENCES "uploads" ("id") ON DELETE CASCADE,
        "owner" varchar(36),
        "hashed" integer NOT NULL,
        "md5" varchar(32)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "upload_hashing"`);
  }
}
