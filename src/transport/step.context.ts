import { BaseRpcContext } from '@nestjs/microservices';
import type { StepJson } from '../protocol/index.js';
import type { StepSession } from './step-session.js';

/** The peer a request came from, as handlers may see it (no socket access for business logic). */
export interface StepPeer {
  readonly remoteAddress: string;
  readonly connectionId: number;
}

type StepContextArgs = [StepPeer, StepJson, Buffer | null];

/**
 * Per-request context handed to every @MessagePattern handler. The binary section travels here,
 * never through a DTO (class-transformer would copy it and ValidationPipe rejects Buffers).
 */
export class StepContext extends BaseRpcContext<StepContextArgs> {
  /** Set by the auth guard; null only for operations that need no token (LOGIN). */
  session: StepSession | null = null;

  constructor(peer: StepPeer, json: StepJson, binary: Buffer | null) {
    super([peer, json, binary]);
  }

  /** The connection's peer. */
  getPeer(): StepPeer {
    return this.args[0];
  }

  /** The request's JSON section as received (before DTO transformation). */
  getRequest(): StepJson {
    return this.args[1];
  }

  /** The request's binary section, or null when it had none. */
  getBinary(): Buffer | null {
    return this.args[2];
  }
}
