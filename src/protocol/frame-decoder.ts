/**
 * Decoding side of the STEP wire format (see frame-encoder.ts for the frame layout).
 */
import { heapAllocator, ChunkOwnership, type BlockAllocator, type BlockLease } from './block-allocator.js';
import { FrameTooLargeError } from './errors/frame-too-large.error.js';
import { HeldBytes } from './held-bytes.js';
import type { InvalidJsonError } from './errors/invalid-json.error.js';
import { HEADER_BYTES } from './frame-encoder.js';
import { mayBeCharCounted, parseJsonObject, type StepJson } from './step-json.js';

/** One decoded frame. `json` is null when the JSON section is unusable; `error` then says why. */
export interface StepFrame {
  json: StepJson | null;
  error: InvalidJsonError | null;
  /** A view of `lease.buffer` when there is a lease (then whoever takes the frame releases it). */
  binary: Buffer | null;
  /** Owns `binary` when the allocator provided it; null for no section or a view of an owned chunk. */
  lease: BlockLease | null;
  /** Bytes the frame took on the wire (header, JSON, binary), for queue accounting. */
  wireBytes: number;
}

/** Limits the decoder enforces from the header alone, before allocating anything. */
export interface FrameDecoderLimits {
  maxJsonBytes: number;
  maxBinaryBytes: number;
}

/** A frame whose JSON section has been read and whose binary section has not. */
export interface FrameHead {
  json: StepJson | null;
  error: InvalidJsonError | null;
  binaryLength: number;
}

/** How a decoder gets memory, and whether it may read a binary section at all. */
export interface FrameDecoderPolicy {
  /** Where binary sections go; plain heap buffers by default. */
  allocator?: BlockAllocator;
  chunks?: ChunkOwnership;
  /**
   * Asked once a frame's JSON section is parsed and a binary section follows: false halts the
   * decoder before the section (DecoderHalt.Admission) until resume(), or for good.
   */
  admitBinary?: (head: FrameHead) => boolean;
}

/** Why a decoder stopped consuming bytes (it holds what it is given meanwhile). */
export enum DecoderHalt {
  None = 'none',
  /** admitBinary said no: the owner decides whether the section may be read. */
  Admission = 'admission',
  /** The allocator had no buffer for the section: the owner resumes once it may have one. */
  Buffer = 'buffer',
}

enum Section {
  Header,
  Json,
  Binary,
}

const EMPTY = Buffer.alloc(0);

/**
 * Incremental STEP decoder: accepts chunks split at any byte, emits every complete frame.
 * Throws FrameTooLargeError (fatal: the stream cannot be resynchronised); a bad JSON section is
 * reported in the frame instead, because the header still tells where the next frame starts.
 * Work is linear in the bytes pushed, however they are split.
 */
export class FrameDecoder {
  private readonly allocator: BlockAllocator;
  private readonly transient: boolean;
  private readonly held: HeldBytes;
  /** A reserved binary section being filled as its pieces arrive. */
  private assembly: { lease: BlockLease; filled: number } | null = null;
  private section = Section.Header;
  private haltReason = DecoderHalt.None;
  private jsonLength = 0;
  private binaryLength = 0;
  private json: StepJson | null = null;
  private jsonError: InvalidJsonError | null = null;
  /** JSON bytes actually consumed (differs from the declared N for character-counted frames). */
  private jsonConsumed = 0;

  constructor(
    private readonly limits: FrameDecoderLimits,
    private readonly onFrame: (frame: StepFrame) => void,
    private readonly policy: FrameDecoderPolicy = {},
  ) {
    this.allocator = policy.allocator ?? heapAllocator;
    const ownership = policy.chunks ?? ChunkOwnership.Owned;
    this.transient = ownership === ChunkOwnership.Transient;
    this.held = new HeldBytes(ownership);
  }

  /** True while part of a frame has arrived but not all of it (for the incomplete-frame deadline). */
  get midFrame(): boolean {
    return this.held.length > 0 || this.section !== Section.Header || this.assembly !== null;
  }

  /** Why the decoder stopped consuming, if it did. */
  get halted(): DecoderHalt {
    return this.haltReason;
  }

  /** Length of the binary section the decoder is at (what a halted decoder waits to read). */
  get pendingBinaryLength(): number {
    return this.section === Section.Header ? 0 : this.binaryLength;
  }

  /** Feeds bytes; calls onFrame for each frame completed by them. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const rest = this.assembly ? this.fill(chunk) : chunk;
    if (rest.length === 0) return;
    if (this.haltReason !== DecoderHalt.None) {
      this.held.keep(rest);
      return;
    }
    // Decode straight from the chunk; only what is left over is kept (copied if transient).
    this.held.lend(rest);
    this.decode();
    this.held.ownRemnant(rest);
  }

  /** Continues after a halt (see DecoderHalt) with the bytes held meanwhile. */
  resume(): void {
    if (this.haltReason === DecoderHalt.None) return;
    if (this.haltReason === DecoderHalt.Admission) this.section = Section.Binary;
    this.haltReason = DecoderHalt.None;
    this.decode();
  }

  /**
   * Gives up a section being assembled (the connection closed mid-frame): its lease is released.
   * The decoder must not be fed afterwards.
   */
  dispose(): void {
    const assembly = this.assembly;
    this.assembly = null;
    this.held.drain();
    assembly?.lease.release();
  }

  private decode(): void {
    // Iterative rather than recursive: one chunk may hold thousands of small pipelined frames.
    while (this.haltReason === DecoderHalt.None && !this.assembly && this.step()) {
      /* keep decoding */
    }
    // Bytes held when the section got its buffer go into it; what follows it is decoded.
    if (this.assembly && this.held.length > 0) {
      for (const chunk of this.held.drain()) this.push(chunk);
    }
  }

  /** Copies into the section being assembled; returns the bytes after it (emitting it if done). */
  private fill(chunk: Buffer): Buffer {
    const assembly = this.assembly!;
    const target = assembly.lease.buffer;
    const n = Math.min(chunk.length, target.length - assembly.filled);
    chunk.copy(target, assembly.filled, 0, n);
    assembly.filled += n;
    if (assembly.filled < target.length) return EMPTY;
    this.assembly = null;
    this.emit(target, assembly.lease);
    return chunk.subarray(n);
  }

  /** Advances the state machine by one section; false when it needs more bytes or halts. */
  private step(): boolean {
    switch (this.section) {
      case Section.Header:
        return this.readHeader();
      case Section.Json:
        return this.readJson();
      case Section.Binary:
        return this.readBinary();
    }
  }

  private readHeader(): boolean {
    if (this.held.length < HEADER_BYTES) return false;
    const header = this.held.take(HEADER_BYTES);
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
    this.section = Section.Json;
    return true;
  }

  private readJson(): boolean {
    if (this.held.length < this.jsonLength) return false;
    const exact = this.held.peek(this.jsonLength);
    let parsed = parseJsonObject(exact);
    let consumed = this.jsonLength;
    if (parsed.error && mayBeCharCounted(exact)) {
      // Old clients count N in characters. A proper prefix of a JSON object never parses, so
      // reading on until the text has N code points is unambiguous (docs/protocol.md §1), within the limit.
      const charCounted = this.charCountedLength();
      if (charCounted === -1) return false;
      if (charCounted > 0) {
        const wider = parseJsonObject(this.held.peek(charCounted));
        if (!wider.error) {
          parsed = wider;
          consumed = charCounted;
        }
      }
    }
    this.held.skip(consumed);
    this.json = parsed.json;
    this.jsonError = parsed.error;
    this.jsonConsumed = consumed;
    const head: FrameHead = { json: this.json, error: this.jsonError, binaryLength: this.binaryLength };
    if (this.binaryLength > 0 && this.policy.admitBinary && !this.policy.admitBinary(head)) {
      this.haltReason = DecoderHalt.Admission;
      return false;
    }
    this.section = Section.Binary;
    return true;
  }

  /**
   * Byte length of the first N code points of the held bytes: -1 while more bytes are needed,
   * 0 when that reading is impossible (over the JSON limit, or the text cannot end an object).
   */
  private charCountedLength(): number {
    // A code point takes at most 4 bytes, and never more than the JSON limit is read.
    const cap = Math.min(this.limits.maxJsonBytes, this.jsonLength * 4);
    const view = this.held.peek(Math.min(this.held.length, cap));
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
      this.emit(null, null);
      return true;
    }
    if (this.held.length < this.binaryLength) {
      // The section is still arriving: it is copied into its own buffer piece by piece, and the
      // decoder holds no more than one read beyond it. No buffer now means no reading either.
      const lease = this.allocator.reserve(this.binaryLength);
      if (!lease) {
        this.haltReason = DecoderHalt.Buffer;
        return false;
      }
      this.assembly = { lease, filled: 0 };
      return false;
    }
    if (this.held.firstChunkLength >= this.binaryLength && !this.transient) {
      // Whole binary section inside one owned chunk: hand out a view, never a copy.
      this.emit(this.held.take(this.binaryLength), null);
      return true;
    }
    const lease = this.allocator.allocate(this.binaryLength);
    this.held.moveInto(lease.buffer, this.binaryLength);
    this.emit(lease.buffer, lease);
    return true;
  }

  private emit(binary: Buffer | null, lease: BlockLease | null): void {
    const wireBytes = HEADER_BYTES + this.jsonConsumed + this.binaryLength;
    const frame: StepFrame = { json: this.json, error: this.jsonError, binary, lease, wireBytes };
    this.json = null;
    this.jsonError = null;
    this.section = Section.Header;
    this.onFrame(frame);
  }
}
