import { stepPatternKey, StepOperation, StepType } from '../protocol/index.js';

/** The only requests that carry a binary section (docs/protocol.md §1, §6); any other with one is refused (400). */
export const STEP_BINARY_PATTERNS: ReadonlySet<string> = new Set([stepPatternKey(StepType.FILE, StepOperation.UPLOAD)]);

/** Requests whose reply carries a block (it waits for reply budget, see StepServerOptions). */
export const STEP_BLOCK_REPLY_PATTERNS: ReadonlySet<string> = new Set([stepPatternKey(StepType.FILE, StepOperation.DOWNLOAD)]);
