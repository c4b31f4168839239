/**
 * Status messages a client has to tell apart when the status code alone does not (two kinds of
 * 408). Each message is built and recognised here, in one place, so the server's wording and the
 * client's recogniser cannot drift apart.
 */

/** 408 to an operation the server does not know: what an old STEP server answers to STATUS (docs/protocol.md §9). */
export function operationNotAllowedMessage(operation: string): string {
  return `Operation ${operation} is not allowed`;
}

/** True for an "operation not allowed" message (also its `... for type X` form). */
export function isOperationNotAllowedMessage(message: string): boolean {
  return /^Operation .* is not allowed\b/.test(message);
}

/** 408 to an UPLOAD of a file that is already complete (docs/protocol.md §6). */
export function completelyUploadedMessage(key: string): string {
  return `The "key" ${key} is completely uploaded.`;
}

/** True for a "completely uploaded" message (not the 404 "is not completely uploaded"). */
export function isCompletelyUploadedMessage(message: string): boolean {
  return /^The "key" .* is completely uploaded\.$/s.test(message);
}
