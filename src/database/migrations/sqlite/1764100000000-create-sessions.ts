import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Sessions created by LOGIN: token stored only as a SHA-256 hash, with expiry and revocation. */
export class CreateSessions1764100000000 implements MigrationInterface {
  name = 'CreateSessions1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "sessions" (
        "id" varchar(36) PRIMARY KEY NOT NULL,
        "username" varchar(255) NOT NULL,
        "token_hash" varchar(64) NOT NULL,
        "kind" varchar(16) NOT NULL,
        "remote_address" varchar(64),
        "created_at" integer NOT NULL,
        "last_seen_at" integer NOT NULL,
        "expires_at" integer NOT NULL,
        "revoked_at" integer
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "idx_sessions_token_hash" ON "sessions" ("token_hash")`);
    await queryRunner.query(`CREATE INDEX "idx_sessions_username" ON "sessions" ("username")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "sessions"`);
  }
}
