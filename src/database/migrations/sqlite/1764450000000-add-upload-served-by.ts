import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The instance serving an upload (on SQLite always the one process; kept for one schema on both engines). */
export class AddUploadServedBy1764450000000 implements MigrationInterface {
  name = 'AddUploadServedBy1764450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "uploads" ADD COLUMN "served_by" varchar(36)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "uploads" DROP COLUMN "served_by"`);
  }
}
