import { rm, writeFile } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { ADMIN_TOKEN } from './helpers/accounts.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { http } from './helpers/http.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

interface HealthBody {
  status: string;
  info?: Record<string, { status: string }>;
  error?: Record<string, { status: string; message?: string }>;
  details: Record<string, { status: string }>;
}

describe('GET /health', () => {
  describe('on a healthy server', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ STEP_INSTANCE_ID: 'health-node' });
    });
    afterAll(async () => app.stop());

    it('answers 200 with database, STEP listener and disk up', async () => {
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.status).toBe(200);
      expect(reply.json.status).toBe('ok');
      expect(reply.json.details).toMatchObject({
        database: { status: 'up' },
        step: { status: 'up' },
        disk: { status: 'up', writable: true },
      });
    });

    it('names the instance that answered: STEP_INSTANCE_ID and the id of this start', async () => {
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.json.details.instance).toEqual({
        status: 'up',
        name: 'health-node',
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      });
    });

    it('does not show the data directory to unauthenticated callers', async () => {
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.json.details).toHaveProperty('disk.status', 'up');
      expect(reply.text).not.toContain(app.dataDir);
    });

    it('answers liveness on /health/live', async () => {
      const reply = await http<HealthBody>(app.httpAddress, '/health/live');
      expect(reply.status).toBe(200);
      expect(reply.json.status).toBe('ok');
    });
  });

  describe('when a check fails', () => {
    let app: TestApp | null = null;
    afterEach(async () => {
      await app?.stop();
      app = null;
    });

    it('answers 503 naming the database when it is unreachable', async () => {
      app = await startTestApp();
      await app.app.get(DataSource).destroy();
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.status).toBe(503);
      expect(reply.json.status).toBe('error');
      expect(reply.json.error).toHaveProperty('database.status', 'down');
      expect(reply.json.info).toHaveProperty('step.status', 'up');
      const live = await http(app.httpAddress, '/health/live');
      expect(live.status).toBe(200);
    });

    it('answers 503 naming the disk when free space is below STEP_MIN_FREE_BYTES', async () => {
      app = await startTestApp({ STEP_MIN_FREE_BYTES: String(Number.MAX_SAFE_INTEGER) });
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.status).toBe(503);
      expect(reply.json.error).toHaveProperty('disk.status', 'down');
      expect(reply.json.info).toHaveProperty('database.status', 'up');
    });

    it('keeps the path and the OS error of a failing disk check for /admin/health', async () => {
      app = await startTestApp({ STEP_ADMIN_TOKEN: ADMIN_TOKEN });
      await rm(app.dataDir, { recursive: true, force: true });
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.status).toBe(503);
      expect(reply.json.error).toHaveProperty('disk.status', 'down');
      expect(reply.text).not.toContain(app.dataDir);
      expect(reply.text).not.toMatch(/ENOENT/);
      expect((await http(app.httpAddress, '/admin/health')).status).toBe(401);
      const detailed = await http<HealthBody>(app.httpAddress, '/admin/health', { token: ADMIN_TOKEN });
      expect(detailed.status).toBe(503);
      expect(detailed.json.error).toMatchObject({ disk: { status: 'down', path: app.dataDir } });
      expect(detailed.text).toMatch(/ENOENT/);
    });

    it('answers 503 naming the disk when nothing can be written in the data directory', async () => {
      app = await startTestApp();
      // Not a directory any more: every write below it fails (as on a read-only or vanished volume), even for root.
      await rm(app.dataDir, { recursive: true, force: true });
      await writeFile(app.dataDir, 'not a directory');
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.status).toBe(503);
      expect(reply.json.error).toHaveProperty('disk.status', 'down');
      await rm(app.dataDir, { force: true });
    });

    it('answers 503 naming the STEP listener once it stopped accepting', async () => {
      app = await startTestApp();
      await app.stepServer.close();
      const reply = await http<HealthBody>(app.httpAddress, '/health');
      expect(reply.status).toBe(503);
      expect(reply.json.error).toHaveProperty('step.status', 'down');
    });
  });
});
