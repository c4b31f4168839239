/**
 * The STEP wire format and vocabulary, shared by the server transport, the client, the CLI and
 * the bench. Nothing here imports Nest or anything outside this folder.
 */
export * from './block-allocator.js';
export * from './errors/frame-too-large.error.js';
export * from './errors/invalid-json.error.js';
export * from './frame-decoder.js';
export * from './frame-encoder.js';
export * from './held-bytes.js';
export * from './step-envelope.js';
export * from './step-json.js';
export * from './step-messages.js';
export * from './step-status.js';
export * from './step.constants.js';
export * from './step.error.js';
export * from './wait-for-drain.js';
