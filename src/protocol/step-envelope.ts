import { operationNotAllowedMessage } from './step-messages.js';
import { REPLY_3BODY, REPLY_DANGEROUS, REPLY_ERROR, STEP_OPERATIONS, STEP_TYPES, StepDirection } from './step.constants.js';
import type { StepJson } from './step-json.js';
import { StepError } from './step.error.js';
import { StepStatus } from './step-status.js';

const COMPULSORY_FIELDS = ['operation', 'direction', 'type'] as const;

/**
 * The checks every request passes before dispatch, in the order of docs/protocol.md §2. Returns the error
 * to answer with, or null when the request may be routed to a handler.
 */
export function checkEnvelope(json: StepJson): StepError | null {
  // A3.1: checked before anything else, even before the compulsory fields.
  if (json.direction === StepDirection.EARTH) {
    return new StepError(StepStatus.EARTH, 'DO NOT ANSWER! DO NOT ANSWER! DO NOT ANSWER!', {
      envelope: { operation: REPLY_3BODY, type: REPLY_DANGEROUS },
    });
  }
  for (const field of COMPULSORY_FIELDS) {
    if (json[field] === undefined || json[field] === null) {
      return new StepError(StepStatus.COMPULSORY_FIELD_MISSING, `Compulsory field ${field} is missing.`, {
        envelope: { operation: REPLY_ERROR, type: REPLY_ERROR },
      });
    }
  }
  if (json.direction !== StepDirection.REQUEST) {
    return new StepError(StepStatus.WRONG_DIRECTION, 'Wrong direction. Should be "REQUEST"');
  }
  if (typeof json.operation !== 'string' || !STEP_OPERATIONS.has(json.operation)) {
    return new StepError(StepStatus.OPERATION_NOT_ALLOWED, operationNotAllowedMessage(describeValue(json.operation)));
  }
  if (typeof json.type !== 'string' || !STEP_TYPES.has(json.type)) {
    return new StepError(StepStatus.TYPE_NOT_ALLOWED, `Type ${describeValue(json.type)} is not allowed`);
  }
  return null;
}

/**
 * Builds the JSON section of a reply to `request`: the handler's fields, then the envelope (a
 * field of the same name keeps its place and takes the envelope's value). Copied key by key, not
 * with `{ ...fields, operation, ... }`: on this V8 an object spread followed by more properties
 * costs more than the rest of a small request's dispatch.
 */
export function replyJson(
  request: StepJson | null,
  status: number,
  message: string,
  fields: Record<string, unknown> = {},
  envelope?: { operation: string; type: string },
): StepJson {
  const json: StepJson = {};
  for (const key of Object.keys(fields)) {
    // A field named __proto__ (a DATA record may hold one) stays a field, as a spread keeps it.
    if (key === '__proto__') Object.defineProperty(json, key, { value: fields[key], enumerable: true, writable: true, configurable: true });
    else json[key] = fields[key];
  }
  json.operation = envelope?.operation ?? asText(request?.operation, REPLY_ERROR);
  json.direction = StepDirection.RESPONSE;
  json.status = status;
  json.status_msg = message;
  json.type = envelope?.type ?? asText(request?.type, REPLY_ERROR);
  return json;
}

/** The `operation` and `type` a reply to `request` echoes (for errors built outside a handler). */
export function echoEnvelope(request: StepJson | null): { operation: string; type: string } {
  return { operation: asText(request?.operation, REPLY_ERROR), type: asText(request?.type, REPLY_ERROR) };
}

/**
 * A request value as text for a reply or message. JSON text, not String(): a JSON object such as
 * `{"toString":1}` makes String() throw, and the reply to hostile input must never fail.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

function asText(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  return describeValue(value);
}
