import { StepStatus } from '../protocol/index.js';

/**
 * What a STEP handler returns: status message, result fields and optionally a binary section.
 * The transport adds `operation`, `direction`, `type`, `status` and `status_msg`.
 */
export class StepReply {
  constructor(
    readonly message: string,
    readonly fields: Record<string, unknown> = {},
    readonly binary: Buffer | null = null,
    readonly status: StepStatus = StepStatus.OK,
  ) {}

  /** A 200 reply. */
  static ok(message: string, fields: Record<string, unknown> = {}, binary: Buffer | null = null): StepReply {
    return new StepReply(message, fields, binary);
  }
}
