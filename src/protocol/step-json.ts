/**
 * The JSON section of a STEP frame: ASCII-only serialisation and the checks a received section
 * passes before it is a request (UTF-8, nesting depth, an object).
 */
import { isAscii } from 'node:buffer';
import { InvalidJsonError } from './errors/invalid-json.error.js';

/** The JSON section of a frame. */
export type StepJson = Record<string, unknown>;

/**
 * Deepest nesting a request may use. JSON.parse copes with any depth, but the recursive code
 * after it (class-transformer, validation, logging) overflows the stack around ten thousand
 * levels, which the 64 KiB JSON limit allows: that would be a 500 instead of a 400.
 */
export const MAX_JSON_DEPTH = 64;

const NON_ASCII = /[\u0080-\uffff]/g;
const HAS_NON_ASCII = /[\u0080-\uffff]/;
const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Serialises a JSON object as ASCII-only text. Old clients count N in characters, stepd in bytes:
 * escaping everything above 0x7f makes both counts equal for every peer (docs/protocol.md §1).
 */
export function toAsciiJson(value: StepJson): string {
  const text = JSON.stringify(value);
  if (!HAS_NON_ASCII.test(text)) return text;
  return text.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * True when N bytes that do not parse could be the start of a character-counted JSON object:
 * they hold non-ASCII text, start with `{` and are valid UTF-8 up to a possibly cut last
 * character. Anything else is answered at once instead of waiting for bytes that never come.
 */
export function mayBeCharCounted(bytes: Buffer): boolean {
  let i = 0;
  while (i < bytes.length && JSON_WHITESPACE.has(bytes[i])) i++;
  if (bytes[i] !== 0x7b) return false;
  let high = false;
  for (; i < bytes.length && !high; i++) high = bytes[i] > 0x7f;
  if (!high) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/** Parses a JSON section into an object, or says why it is not one. */
export function parseJsonObject(bytes: Buffer): { json: StepJson | null; error: InvalidJsonError | null } {
  let text: string;
  if (isAscii(bytes)) {
    // Nearly every request, and every request stepd's own client sends (toAsciiJson): ASCII is
    // its own UTF-8, and a one-byte string is cheaper to make than the strict decoder's.
    text = bytes.toString('latin1');
  } else {
    try {
      text = utf8.decode(bytes);
    } catch {
      return { json: null, error: new InvalidJsonError('The JSON section is not valid UTF-8.') };
    }
  }
  if (nestingExceeds(bytes, MAX_JSON_DEPTH)) {
    return { json: null, error: new InvalidJsonError(`The JSON section is nested deeper than ${MAX_JSON_DEPTH} levels.`) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { json: null, error: new InvalidJsonError('The JSON section is not valid JSON.') };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { json: null, error: new InvalidJsonError('The JSON section has to be a JSON object.') };
  }
  return { json: value as StepJson, error: null };
}

/** True when brackets outside strings nest deeper than `limit` (one pass, no recursion). */
function nestingExceeds(bytes: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > limit) return true;
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
  return false;
}
