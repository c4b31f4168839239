import { afterAll, expect } from 'vitest';
import { assertDatabasesUsed, dropCreatedDatabases, forgetDataDirs } from './postgres.js';

// Setup file of the PostgreSQL projects: registered before the file's own hooks, so this runs
// after them (after hooks run in reverse order), when the file's apps are stopped. A database
// the file did not drop itself (a data dir shared by restarts, a failed test) goes here; and a
// file whose servers never used their databases fails instead of passing on SQLite.
afterAll(async () => {
  forgetDataDirs();
  await dropCreatedDatabases();
  assertDatabasesUsed(expect.getState().testPath ?? 'this test file');
});
