import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The instances sharing this database (src/cluster/pg-instance-registry.ts): a row per running
 * stepd, its lease renewed by heartbeats. Times are epoch ms on the database's clock.
 */
export class CreateInstances1764400000000 implements MigrationInterface {
  name = 'CreateInstances1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "instances" (
        "id" uuid PRIMARY KEY NOT NULL,
        "name" text NOT NULL,
        "started_at" bigint NOT NULL,
        "heartbeat_at" bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "idx_instances_heartbeat_at" ON "instances" ("heartbeat_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "instances"`);
  }
}
