import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { StepClientConnection } from '../src/client/step-client.connection.js';
import { md5Hex } from '../src/common/md5.js';
import { StepOperation, StepType, type StepJson } from '../src/protocol/index.js';
import type { BenchServer } from './bench-servers.js';
import { writeRandomFile } from './random-file.js';
import { LEGACY_BLOCK_SIZE, legacyUpload, stepdCall, stepdLogin } from './stepd-legacy.js';
import type { StepdTarget } from './stepd-engine.js';

/** The small-request cases: one operation kind over 1 or 32 connections. */
export const SMALL_CASE_NAMES = ['login-1', 'login-32', 'data-1', 'data-32', 'status-1', 'status-32', 'get-1', 'get-32'] as const;
export type SmallCaseName = (typeof SMALL_CASE_NAMES)[number];
type SmallOperation = 'login' | 'data' | 'status' | 'get';

/**
 * Operations per run of a small case, over all its connections (a DATA SAVE+GET pair is one
 * operation): a fixed amount of work, so every run (and every build compared) does the same,
 * sized for a run of a few seconds on a shared 2-core machine.
 */
export const SMALL_OPERATIONS: Readonly<Record<SmallOperation, number>> = { login: 500, data: 1000, status: 2000, get: 4000 };
const SMOKE_OPERATIONS = 64;
/** Untimed operations per case before its first run, so that run 1 does not pay for the JIT alone. */
const WARM_UP_OPERATIONS = 100;
/** The unfinished upload STATUS is asked about: the size of one of the parallel legacy clients. */
const STATUS_FILE_BYTES = 25 * 1024 * 1024;
/** Blocks of it uploaded: a prefix and then every 100th block, so STATUS reports a dozen missing ranges. */
const STATUS_UPLOADED_BLOCKS = [...Array.from({ length: 16 }, (_, i) => i), ...Array.from({ length: 12 }, (_, i) => (i + 1) * 100)];
/** The complete file FILE GET plans a download of: a few legacy blocks and a partial one. */
const GET_FILE_BYTES = 4 * LEGACY_BLOCK_SIZE + 1;
const STATUS_KEY = 'bench-small-status';
const GET_KEY = 'bench-small-get';
const MAX_CONNECTIONS = 32;

/** One small-request case: lock-step clients (one request in flight per connection), as old clients are. */
export interface SmallCase {
  server: BenchServer;
  connections: number;
  /** Operations one run performs, over all connections. */
  operations: number;
  requestsPerOperation: number;
  /** Untimed: opens the connections (and logs in where the operation needs a token). */
  setUp(run: number): Promise<void>;
  /** Timed: performs `operations` operations, each connection waiting for every reply before its next request. */
  run(run: number): Promise<void>;
  /** Untimed: closes the connections. */
  tearDown(): void;
}

/** A small case whose run can also be asked for fewer operations (the warm-up). */
interface WarmableSmallCase extends SmallCase {
  run(run: number, count?: number): Promise<void>;
}

interface Client {
  connection: StepClientConnection;
  token: string;
  user: string;
}

/**
 * Prepares the chosen small cases on their own stepd: 32 users (one per connection, as 32 hosts
 * would be), each with an unfinished upload for STATUS and a complete file for GET; then warms
 * every case up, untimed.
 */
export async function prepareSmallCases(
  server: BenchServer,
  root: string,
  names: readonly SmallCaseName[],
  smoke: boolean,
): Promise<Map<SmallCaseName, SmallCase>> {
  const target: StepdTarget = { host: '127.0.0.1', port: server.port, user: 'bench' };
  const getFile = join(root, 'small-get.bin');
  await writeRandomFile(getFile, GET_FILE_BYTES);
  await Promise.all(Array.from({ length: MAX_CONNECTIONS }, (_, i) => prepareUser({ ...target, user: smallUser(i) }, getFile)));
  const cases = new Map<SmallCaseName, SmallCase>();
  for (const name of names) {
    const [operation, connections] = name.split('-') as [SmallOperation, string];
    const small = smallCase(server, target, operation, Number(connections), smoke ? SMOKE_OPERATIONS : SMALL_OPERATIONS[operation]);
    await small.setUp(0);
    await small.run(0, WARM_UP_OPERATIONS);
    small.tearDown();
    cases.set(name, small);
  }
  return cases;
}

const smallUser = (i: number) => `bench-small-${i}`;

async function prepareUser(target: StepdTarget, getFile: string): Promise<void> {
  await legacyUpload(target, getFile, GET_KEY);
  const { connection, token } = await stepdLogin(target);
  try {
    const key = STATUS_KEY;
    await stepdCall(connection, { type: StepType.FILE, operation: StepOperation.SAVE, token, key, size: STATUS_FILE_BYTES });
    const block = randomBytes(LEGACY_BLOCK_SIZE);
    for (const index of STATUS_UPLOADED_BLOCKS)
      await stepdCall(connection, { type: StepType.FILE, operation: StepOperation.UPLOAD, token, key, block_index: index }, block);
  } finally {
    connection.close();
  }
}

function smallCase(
  server: BenchServer,
  base: StepdTarget,
  operation: SmallOperation,
  connections: number,
  operations: number,
): WarmableSmallCase {
  let clients: Client[] = [];
  // DATA runs get fresh users, so every run stores its records for users that start with none:
  // the same work in every run, however many runs came before.
  const userOf = (run: number, i: number) => (operation === 'data' ? `bench-data-${connections}-${run}-${i}` : smallUser(i));
  return {
    server,
    connections,
    operations,
    requestsPerOperation: operation === 'data' ? 2 : 1,
    async setUp(run) {
      clients = await Promise.all(
        Array.from({ length: connections }, async (_, i) => {
          const user = userOf(run, i);
          const { connection, token } = await stepdLogin({ ...base, user });
          return { connection, token, user };
        }),
      );
    },
    async run(run: number, count = operations) {
      await Promise.all(
        clients.map(async (client, i) => {
          // Spread the operations over the connections as evenly as they divide.
          const share = Math.floor(count / connections) + (i < count % connections ? 1 : 0);
          for (let n = 0; n < share; n++) await perform(operation, client, `bench-data-${run}-${n}`, n);
        }),
      );
    },
    tearDown() {
      for (const client of clients) client.connection.close();
      clients = [];
    },
  };
}

/** One operation, lock-step; stepdCall throws on any status but 200, so a failing server fails the bench. */
async function perform(operation: SmallOperation, client: Client, dataKey: string, n: number): Promise<void> {
  const { connection, token, user } = client;
  if (operation === 'login') {
    await stepdCall(connection, { type: StepType.AUTH, operation: StepOperation.LOGIN, username: user, password: md5Hex(user) });
  } else if (operation === 'status') {
    const reply = await stepdCall(connection, { type: StepType.FILE, operation: StepOperation.STATUS, token, key: STATUS_KEY });
    if (reply.complete !== false) throw new Error(`STATUS of ${STATUS_KEY}: ${JSON.stringify(reply)}`);
  } else if (operation === 'get') {
    await stepdCall(connection, { type: StepType.FILE, operation: StepOperation.GET, token, key: GET_KEY });
  } else {
    // A record shaped like what old clients keep: a few short fields.
    const record: StepJson = { name: 'bench', count: n, note: 'a small record of a few fields' };
    await stepdCall(connection, { type: StepType.DATA, operation: StepOperation.SAVE, token, key: dataKey, ...record });
    const stored = await stepdCall(connection, { type: StepType.DATA, operation: StepOperation.GET, token, key: dataKey });
    if (stored.count !== n) throw new Error(`DATA GET of ${dataKey}: ${JSON.stringify(stored)}`);
  }
}
