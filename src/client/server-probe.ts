import type { StepJson } from '../protocol/index.js';
import { StepOperation, StepStatus, StepType } from '../protocol/index.js';
import { hasStatus, isUnsupportedOperation, type StepClient } from './step-client.js';

/** What a STATUS request told a transfer before it starts. */
export interface StatusProbe {
  /** The STATUS reply (null: no upload of this key, or an old server). */
  status: StepJson | null;
  /** The server does not know STATUS: an old server that cannot take pipelined requests. */
  oldServer: boolean;
  /** How long the exchange took (a first measure of the round trip; includes LOGIN when it ran first). */
  rttMs: number;
}

/** Asks STATUS for `key`: the resume point for uploads, and for every transfer whether the server is an old one. */
export async function probeStatus(client: StepClient, key: string): Promise<StatusProbe> {
  const started = performance.now();
  try {
    const status = (await client.call(StepType.FILE, StepOperation.STATUS, { key })).json;
    return { status, oldServer: false, rttMs: performance.now() - started };
  } catch (err) {
    const oldServer = isUnsupportedOperation(err);
    if (!oldServer && !hasStatus(err, StepStatus.KEY_NOT_FOUND)) throw err;
    return { status: null, oldServer, rttMs: performance.now() - started };
  }
}
