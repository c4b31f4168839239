import { describe, expect, it } from 'vitest';
import {
  completelyUploadedMessage,
  isCompletelyUploadedMessage,
  isOperationNotAllowedMessage,
  operationNotAllowedMessage,
} from './step-messages.js';

describe('STEP status messages a client tells apart', () => {
  it('recognises the 408 to an UPLOAD of a complete file, and not the 404 of an incomplete one', () => {
    expect(isCompletelyUploadedMessage(completelyUploadedMessage('a "b" c'))).toBe(true);
    expect(isCompletelyUploadedMessage('The key k is not completely uploaded.')).toBe(false);
    expect(isCompletelyUploadedMessage('The "key" k is not accepted for uploading.')).toBe(false);
  });

  it('recognises an unknown operation, in both the short form and the "for type" form', () => {
    expect(isOperationNotAllowedMessage(operationNotAllowedMessage('STATUS'))).toBe(true);
    expect(isOperationNotAllowedMessage('Operation STATUS is not allowed for type FILE')).toBe(true);
    expect(isOperationNotAllowedMessage(completelyUploadedMessage('k'))).toBe(false);
  });
});
