import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Accounts of `accounts` auth mode: a unique name and a salted scrypt hash. */
export class CreateUsers1764300000000 implements MigrationInterface {
  name = 'CreateUsers1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "users" (
        "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
        "name" varchar(255) NOT NULL,
        "password_hash" varchar(255) NOT NULL,
        "created_at" integer NOT NULL,
        "updated_at" integer NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "idx_users_name" ON "users" ("name")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "users"`);
  }
}
