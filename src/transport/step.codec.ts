/**
 * The STEP wire format, with no Nest import so that the server, the CLI and the bench share it.
 *
 * A frame is an 8-byte header (JSON length N, binary length M; big-endian uint32), N bytes of
 * JSON text (one object) and M raw bytes.
 */
import { FrameTooLargeError } from './errors/frame-too-large.error.js';
import { InvalidJsonError } from './errors/invalid-json.error.js';

export const HEADER_BYTES = 8;
/** The largest length a uint32 header field can carry. */
export const MAX_UINT32 = 0xffff_ffff;

/** The JSON section of a frame. */
export type StepJson = Record<string, unknown>;

/** One decoded frame. `json` is null when the JSON section is unusable; `error` then says why. */
export interface StepFrame {
  json: StepJson | null;
  error: InvalidJsonError | null;
  binary: Buffer | null;
  /** Bytes the frame took on the wire (header, JSON, binary), for queue accounting. */
  wireBytes: number;
}

const NON_ASCII = /[\u0080-\uffff]/g;
const HAS_NON_ASCII = /[\u0080-\uffff]/;

/**
 * Serialises a JSON object as ASCII-only text. Old clients count N in characters, stepd in bytes:
 * escaping everything above 0x7f makes both counts equal for every peer (spec A1).
 */
export function toAsciiJson(value: StepJson): string {
  const text = JSON.stringify(value);
  if (!HAS_NON_ASCII.test(text)) return text;
  return text.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Encodes a frame as two buffers (header + JSON, then the binary section untouched) so a block
 * payload is never copied; write both inside one cork so the peer sees one complete frame.
 */
export function encodeFrameParts(json: StepJson, binary?: Buffer | null): [Buffer, Buffer | null] {
  const text = toAsciiJson(json);
  const head = Buffer.allocUnsafe(HEADER_BYTES + text.length);
  head.writeUInt32BE(text.length, 0);
  head.writeUInt32BE(binary ? binary.length : 0, 4);
  head.write(text, HEADER_BYTES, 'latin1');
  return [head, binary && binary.length > 0 ? binary : null];
}

/** Encodes a frame into one buffer (copies the binary section; for small frames and tests). */
export function encodeFrame(json: StepJson, binary?: Buffer | null): Buffer {
  const [head, body] = encodeFrameParts(json, binary);
  return body ? Buffer.concat([head, body]) : head;
}

/** Limits the decoder enforces from the header alone, before allocating anything. */
export interface FrameDecoderLimits {
  maxJsonBytes: number;
  maxBinaryBytes: number;
  /** Where binary sections are put (a pool's acquire); default allocUnsafe. */
  allocate?: (size: number) => Buffer;
  /**
   * Asked when a binary section starts arriving in pieces. A buffer (sized exactly) lets the
   * decoder copy every piece into it as it arrives and hold no chunk; null makes it hold the
   * pieces until the whole section is there, then allocate. Whoever grants buffers here bounds
   * the bytes granted but not yet sent by the peer: `settle` reports them as they stop being
   * owed (each piece as it is copied in, and the rest if the section is abandoned).
   */
  reserve?: (size: number) => Buffer | null;
  settle?: (bytes: number) => void;
  /** Takes back a reserved buffer whose section was abandoned (see FrameDecoder.dispose). */
  discard?: (buffer: Buffer) => void;
  /**
   * Chunks given to push are views of memory the caller reuses once push returns (a socket's
   * onread buffer): the decoder copies whatever it keeps, and never hands out a view of them.
   */
  transientChunks?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Deepest nesting a request may use. JSON.parse copes with any depth, but the recursive code
 * after it (class-transformer, validation, logging) overflows the stack around ten thousand
 * levels, which the 64 KiB JSON limit allows: that would be a 500 instead of a 400.
 */
export const MAX_JSON_DEPTH = 64;
const EMPTY = Buffer.alloc(0);

/**
 * Incremental STEP decoder: accepts chunks split at any byte, emits every complete frame.
 * Throws FrameTooLargeError (fatal: the stream cannot be resynchronised); a bad JSON section is
 * reported in the frame instead, because the header still tells where the next frame starts.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** A reserved binary section being filled as its pieces arrive. */
  private assembly: { target: Buffer; filled: number } | null = null;
  private jsonLength = -1;
  private binaryLength = -1;
  private json: StepJson | null = null;
  private jsonError: InvalidJsonError | null = null;
  /** JSON bytes actually consumed (differs from the declared N for character-counted frames). */
  private jsonConsumed = 0;

  constructor(
    private readonly limits: FrameDecoderLimits,
    private readonly onFrame: (frame: StepFrame) => void,
  ) {}

  /** True while part of a frame has arrived but not all of it (for the incomplete-frame deadline). */
  get midFrame(): boolean {
    return this.buffered > 0 || this.jsonLength >= 0;
  }

  /** Feeds bytes; calls onFrame for each frame completed by them. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const rest = this.assembly ? this.fill(chunk) : chunk;
    if (rest.length === 0) return;
    this.chunks.push(rest);
    this.buffered += rest.length;
    // Iterative rather than recursive: one chunk may hold thousands of small pipelined frames.
    while (this.step()) {
      /* keep decoding */
    }
    if (this.limits.transientChunks) this.ownHeldBytes(chunk);
  }

  /**
   * Gives up a section being assembled (the connection closed mid-frame): the reserved buffer
   * goes back to `discard` and its missing bytes to `settle`. The decoder must not be fed afterwards.
   */
  dispose(): void {
    const assembly = this.assembly;
    if (!assembly) return;
    this.assembly = null;
    this.limits.settle?.(assembly.target.length - assembly.filled);
    this.limits.discard?.(assembly.target);
  }

  /** Copies into the section being assembled; returns the bytes after it (emitting it if done). */
  private fill(chunk: Buffer): Buffer {
    const assembly = this.assembly!;
    const n = Math.min(chunk.length, assembly.target.length - assembly.filled);
    chunk.copy(assembly.target, assembly.filled, 0, n);
    assembly.filled += n;
    this.limits.settle?.(n);
    if (assembly.filled < assembly.target.length) return EMPTY;
    this.assembly = null;
    this.emit(assembly.target);
    return chunk.subarray(n);
  }

  /** Replaces held views of a transient chunk by copies (only the tail of a frame, at most). */
  private ownHeldBytes(chunk: Buffer): void {
    for (let i = 0; i < this.chunks.length; i++) {
      if (this.chunks[i].buffer === chunk.buffer) this.chunks[i] = Buffer.from(this.chunks[i]);
    }
  }

  /** Advances the state machine by one section; false when it needs more bytes. */
  private step(): boolean {
    if (this.jsonLength < 0) return this.readHeader();
    if (this.json === null && this.jsonError === null) return this.readJson();
    return this.readBinary();
  }

  private readHeader(): boolean {
    if (this.buffered < HEADER_BYTES) return false;
    const header = this.take(HEADER_BYTES);
    const jsonLength = header.readUInt32BE(0);
    const binaryLength = header.readUInt32BE(4);
    if (jsonLength > this.limits.maxJsonBytes) {
      throw new FrameTooLargeError('json', jsonLength, this.limits.maxJsonBytes);
    }
    if (binaryLength > this.limits.maxBinaryBytes) {
      throw new FrameTooLargeError('binary', binaryLength, this.limits.maxBinaryBytes);
    }
    this.jsonLength = jsonLength;
    this.binaryLength = binaryLength;
    return true;
  }

  private readJson(): boolean {
    if (this.buffered < this.jsonLength) return false;
    const exact = this.peek(this.jsonLength);
    const parsed = parseJsonObject(exact);
    if (parsed.error && mayBeCharCounted(exact)) {
      // Old clients count N in characters. A proper prefix of a JSON object never parses, so
      // reading on until the text has N code points is unambiguous (spec A1), within the limit.
      const charCounted = this.charCountedLength();
      if (charCounted === -1) return false;
      if (charCounted > 0) {
        const wider = parseJsonObject(this.peek(charCounted));
        if (!wider.error) {
          this.skip(charCounted);
          this.json = wider.json;
          this.jsonConsumed = charCounted;
          return true;
        }
      }
    }
    this.skip(this.jsonLength);
    this.json = parsed.json;
    this.jsonError = parsed.error;
    this.jsonConsumed = this.jsonLength;
    return true;
  }

  /**
   * Byte length of the first N code points of the buffered bytes: -1 while more bytes are needed,
   * 0 when that reading is impossible (over the JSON limit, or the text cannot end an object).
   */
  private charCountedLength(): number {
    // A code point takes at most 4 bytes, and never more than the JSON limit is read.
    const cap = Math.min(this.limits.maxJsonBytes, this.jsonLength * 4);
    const view = this.peek(Math.min(this.buffered, cap));
    let points = 0;
    for (let i = 0; i < view.length; i++) {
      const byte = view[i];
      if ((byte & 0xc0) === 0x80) continue;
      points++;
      // A JSON object's last character is the ASCII '}', so the N-th code point ends the text.
      if (points === this.jsonLength) return byte < 0x80 ? i + 1 : 0;
    }
    return view.length >= cap ? 0 : -1;
  }

  private readBinary(): boolean {
    if (this.binaryLength === 0) {
      this.emit(null);
      return true;
    }
    if (this.buffered < this.binaryLength) {
      // A reserved buffer takes the pieces as they come; without one nothing is allocated until
      // all of the section has arrived, so a large declared size costs nothing unsent.
      const target = this.limits.reserve?.(this.binaryLength);
      if (!target) return false;
      const filled = this.buffered;
      this.moveFront(target, filled);
      this.limits.settle?.(filled);
      this.assembly = { target, filled };
      return false;
    }
    if (this.chunks[0].length >= this.binaryLength && !this.limits.transientChunks) {
      // Whole binary section inside one chunk: hand out a view, never a copy.
      this.emit(this.take(this.binaryLength));
      return true;
    }
    const target = this.limits.allocate ? this.limits.allocate(this.binaryLength) : Buffer.allocUnsafe(this.binaryLength);
    this.moveFront(target, target.length);
    this.emit(target);
    return true;
  }

  /** Copies the next n buffered bytes into the start of `target` and consumes them. */
  private moveFront(target: Buffer, n: number): void {
    for (let filled = 0; filled < n; ) {
      const chunk = this.chunks[0];
      const length = Math.min(chunk.length, n - filled);
      chunk.copy(target, filled, 0, length);
      filled += length;
      this.consumeFront(length);
    }
  }

  private emit(binary: Buffer | null): void {
    const wireBytes = HEADER_BYTES + this.jsonConsumed + this.binaryLength;
    const frame: StepFrame = { json: this.json, error: this.jsonError, binary, wireBytes };
    this.json = null;
    this.jsonError = null;
    this.jsonLength = -1;
    this.binaryLength = -1;
    this.onFrame(frame);
  }

  /** Returns the next n buffered bytes without consuming them (a view when possible). */
  private peek(n: number): Buffer {
    // n may be 0 with nothing buffered (a frame with an empty JSON section ends a chunk).
    if (n === 0) return EMPTY;
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const merged = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  private take(n: number): Buffer {
    const out = this.peek(n);
    this.consumeFront(n);
    return out;
  }

  private skip(n: number): void {
    this.peek(n);
    this.consumeFront(n);
  }

  /** Drops n bytes that are all in the first chunk. */
  private consumeFront(n: number): void {
    if (n === 0) return;
    const first = this.chunks[0];
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
  }
}

/**
 * True when N bytes that do not parse could be the start of a character-counted JSON object:
 * they hold non-ASCII text, start with `{` and are valid UTF-8 up to a possibly cut last
 * character. Anything else is answered at once instead of waiting for bytes that never come.
 */
function mayBeCharCounted(bytes: Buffer): boolean {
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

const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function parseJsonObject(bytes: Buffer): { json: StepJson | null; error: InvalidJsonError | null } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { json: null, error: new InvalidJsonError('The JSON section is not valid UTF-8.') };
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
      if (byte === 0x5c) i++; // backslash: skip the escaped character
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
