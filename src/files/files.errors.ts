import { completelyUploadedMessage, StepError, StepStatus } from '../protocol/index.js';

/**
 * Every FILE/DATA error reply, with the status and wording of docs/protocol.md §6, §7, §8 (quoted where the spec
 * fixes them) and stepd's own for what the reference server never answered (statuses in docs/protocol.md §9).
 */
export const FilesErrors = {
  keyMissing: (operation: string) => StepError.fieldMissing('key', operation),
  keyTooLong: (limit: number) => new StepError(StepStatus.TOO_LARGE, `The "key" is longer than ${limit} bytes.`),
  keyNotFound: (key: string) => StepError.keyNotFound(key),
  // docs/protocol.md §8: DATA SAVE of an existing key.
  dataKeyExists: (key: string) => new StepError(StepStatus.KEY_EXISTS, `This key "${key}" is existing.`, { fields: { key } }),
  // docs/protocol.md §6: FILE SAVE of a completed key / without size.
  fileKeyExists: (key: string) => new StepError(StepStatus.KEY_EXISTS, `This "key" ${key} is existing.`, { fields: { key } }),
  sizeMissing: () => new StepError(StepStatus.KEY_EXISTS, 'This file "size" has to be included'),
  sizeNegative: () => StepError.badField('The file "size" has to be 0 or more.'),
  sizeTooLarge: (size: number, limit: number) =>
    new StepError(StepStatus.TOO_LARGE, `The file "size" ${size} is over the limit of ${limit} bytes.`),
  tooManyUploads: (limit: number) => new StepError(StepStatus.TOO_MANY, `Too many uploads in progress (at most ${limit} per user).`),
  quotaExceeded: (quota: number) => new StepError(StepStatus.NO_SPACE, `Storage quota of ${quota} bytes exceeded.`),
  noSpace: (size: number) => new StepError(StepStatus.NO_SPACE, `Not enough free disk space to store ${size} bytes.`),
  // docs/protocol.md §6: UPLOAD checks, in the order listed there.
  completelyUploaded: (key: string) => new StepError(StepStatus.OPERATION_NOT_ALLOWED, completelyUploadedMessage(key), { fields: { key } }),
  notAccepted: (key: string) =>
    new StepError(StepStatus.OPERATION_NOT_ALLOWED, `The "key" ${key} is not accepted for uploading.`, { fields: { key } }),
  blockIndexMissing: (operation: string) => StepError.fieldMissing('block_index', operation),
  blockIndexTooHigh: (index: number, total: number) =>
    new StepError(StepStatus.BLOCK_INDEX_TOO_HIGH, `The "block_index" ${index} is over the maximum ${total - 1}.`),
  blockIndexNegative: (index: number) => new StepError(StepStatus.FIELD_MISSING, `The "block_index" ${index} is negative.`),
  blockSizeWrong: () => new StepError(StepStatus.BLOCK_SIZE_WRONG, 'The "block_size" is wrong.'),
  blockMd5Mismatch: () => new StepError(StepStatus.BLOCK_SIZE_WRONG, 'Block md5 mismatch.'),
  blockNoSpace: (index: number) => new StepError(StepStatus.NO_SPACE, `No space left to store block ${index}. Try again later.`),
  blockWriteFailed: (index: number) => new StepError(StepStatus.INTERNAL, `Block ${index} could not be stored. Try again.`),
  // docs/protocol.md §7: GET / DOWNLOAD.
  notCompletelyUploaded: (key: string) =>
    new StepError(StepStatus.KEY_NOT_FOUND, `The key ${key} is not completely uploaded.`, { fields: { key } }),
  downloadIndexOutOfRange: (index: number, total: number) =>
    new StepError(StepStatus.FIELD_MISSING, `The "block_index" ${index} is out of range 0..${total - 1}.`),
  downloadBlockSizeOutOfBounds: (min: number, max: number) => StepError.badField(`The "block_size" has to be between ${min} and ${max}.`),
  noUpload: (key: string) => new StepError(StepStatus.KEY_NOT_FOUND, `The key ${key} has no upload.`, { fields: { key } }),
  tooManyRecords: (limit: number) => new StepError(StepStatus.TOO_MANY, `Too many DATA records (at most ${limit} per user).`),
};

/** Checks a key a request must carry: present, non-empty, within the length limit. */
export function requireKey(key: string | undefined, operation: string, maxBytes: number): string {
  if (key === undefined || key === null || key === '') throw FilesErrors.keyMissing(operation);
  return checkKeyLength(key, maxBytes);
}

/** Checks the length of a key (UTF-8 bytes). */
export function checkKeyLength(key: string, maxBytes: number): string {
  if (key.length > maxBytes || Buffer.byteLength(key, 'utf8') > maxBytes) throw FilesErrors.keyTooLong(maxBytes);
  return key;
}
