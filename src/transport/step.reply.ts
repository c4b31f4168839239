import { StepStatus, type BlockLease } from '../protocol/index.js';

/**
 * What a STEP handler returns: status message, result fields and optionally a binary section.
 * The transport adds `operation`, `direction`, `type`, `status` and `status_msg`.
 */
export class StepReply {
  /** The binary section, or null. */
  readonly binary: Buffer | null;
  /** Owns `binary` when it is a pooled buffer: the transport releases it once the socket has written it. */
  readonly lease: BlockLease | null;

  /** @param binary a Buffer, or a lease handed over with the reply (the handler lets go of it) */
  constructor(
    readonly message: string,
    readonly fields: Record<string, unknown> = {},
    binary: Buffer | BlockLease | null = null,
    readonly status: StepStatus = StepStatus.OK,
  ) {
    const leased = binary !== null && !Buffer.isBuffer(binary);
    this.binary = leased ? binary.buffer : binary;
    this.lease = leased ? binary : null;
  }

  /** A 200 reply. */
  static ok(message: string, fields: Record<string, unknown> = {}, binary: Buffer | BlockLease | null = null): StepReply {
    return new StepReply(message, fields, binary);
  }
}
