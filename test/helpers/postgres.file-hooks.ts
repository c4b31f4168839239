import { afterAll } from 'vitest';
import { dropCreatedDatabases, forgetDataDirs } from './postgres.js';

// Setup file of the PostgreSQL projects: registered before the file's own hooks, so this runs
// after them (after hooks run in reverse order), when the file's apps are stopped. A database
// the file did not drop itself (a data dir shared by restarts, a failed test) goes here.
afterAll(async () => {
  forgetDataDirs();
  await dropCreatedDatabases();
});
