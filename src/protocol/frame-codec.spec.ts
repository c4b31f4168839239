import { describe, expect, it } from 'vitest';
import { FrameTooLargeError } from './errors/frame-too-large.error.js';
import { ChunkOwnership, type BlockAllocator, type BlockLease } from './block-allocator.js';
import {
  DecoderHalt,
  encodeFrame,
  FrameDecoder,
  HEADER_BYTES,
  MAX_JSON_DEPTH,
  toAsciiJson,
  type FrameHead,
  type StepFrame,
} from './index.js';

const LIMITS = { maxJsonBytes: 1024, maxBinaryBytes: 1 << 20 };

function decodeAll(chunks: Buffer[], limits = LIMITS): StepFrame[] {
  const frames: StepFrame[] = [];
  const decoder = new FrameDecoder(limits, (f) => frames.push(f));
  for (const chunk of chunks) decoder.push(chunk);
  return frames;
}

function rawFrame(jsonBytes: Buffer, declaredJson: number, binary = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(declaredJson, 0);
  header.writeUInt32BE(binary.length, 4);
  return Buffer.concat([header, jsonBytes, binary]);
}

describe('STEP codec', () => {
  it('round-trips a frame with a binary section fed one byte at a time', () => {
    const binary = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const wire = encodeFrame({ operation: 'UPLOAD', block_index: 3 }, binary);
    const frames = decodeAll([...wire].map((b) => Buffer.from([b])));
    expect(frames).toHaveLength(1);
    expect(frames[0].json).toEqual({ operation: 'UPLOAD', block_index: 3 });
    expect(frames[0].binary?.equals(binary)).toBe(true);
  });

  it('decodes many frames from one chunk, in order', () => {
    const wire = Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeFrame({ i }, i % 2 ? Buffer.from([i]) : null)));
    const frames = decodeAll([wire]);
    expect(frames.map((f) => f.json?.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(frames[1].binary?.[0]).toBe(1);
    expect(frames[0].binary).toBeNull();
  });

  it('decodes frames split at every possible byte boundary', () => {
    const wire = Buffer.concat([encodeFrame({ a: 1 }, Buffer.from('xyz')), encodeFrame({ b: 'é' })]);
    for (let cut = 1; cut < wire.length; cut++) {
      const frames = decodeAll([wire.subarray(0, cut), wire.subarray(cut)]);
      expect(frames.map((f) => f.json)).toEqual([{ a: 1 }, { b: 'é' }]);
    }
  });

  it('writes ASCII-only JSON so that N is the same in bytes and characters', () => {
    const text = toAsciiJson({ key: 'naïve 文件 😀' });
    expect(/^[\x20-\x7e]*$/.test(text)).toBe(true);
    expect(JSON.parse(text)).toEqual({ key: 'naïve 文件 😀' });
    const wire = encodeFrame({ key: 'naïve' });
    expect(wire.readUInt32BE(0)).toBe(wire.length - HEADER_BYTES);
  });

  it('accepts a JSON length counted in characters (old clients) when the text is not ASCII', () => {
    const json = Buffer.from(JSON.stringify({ key: 'naïve 文件' }), 'utf8');
    const chars = [...JSON.stringify({ key: 'naïve 文件' })].length;
    const wire = Buffer.concat([rawFrame(json, chars, Buffer.from('BIN')), encodeFrame({ next: true })]);
    const frames = decodeAll([wire]);
    expect(frames[0].json).toEqual({ key: 'naïve 文件' });
    expect(frames[0].binary?.toString()).toBe('BIN');
    expect(frames[1].json).toEqual({ next: true });
  });

  it('refuses an oversized declared length from the header alone', () => {
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(0xffffffff, 0);
    expect(() => decodeAll([header])).toThrow(FrameTooLargeError);
    header.writeUInt32BE(2, 0);
    header.writeUInt32BE(LIMITS.maxBinaryBytes + 1, 4);
    expect(() => decodeAll([header])).toThrow(/binary section/);
  });

  it('reports malformed JSON, non-objects and invalid UTF-8 in the frame and keeps framing', () => {
    const bad = [Buffer.from('{"a":'), Buffer.from('[1,2]'), Buffer.from('"str"'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])];
    const wire = Buffer.concat([...bad.map((b) => rawFrame(b, b.length)), encodeFrame({ ok: 1 })]);
    const frames = decodeAll([wire]);
    expect(frames).toHaveLength(5);
    expect(frames[0].error?.message).toMatch(/not valid JSON/);
    expect(frames[1].error?.message).toMatch(/JSON object/);
    expect(frames[2].error?.message).toMatch(/JSON object/);
    expect(frames[3].error?.message).toMatch(/UTF-8|not valid JSON/);
    expect(frames[4].json).toEqual({ ok: 1 });
  });

  it('hands out the binary section without copying when one chunk holds it', () => {
    const wire = encodeFrame({ a: 1 }, Buffer.alloc(4096, 7));
    const frames = decodeAll([wire]);
    expect(frames[0].binary?.buffer).toBe(wire.buffer);
  });

  it('decodes a frame with empty sections at the end of a chunk (used to throw and crash the server)', () => {
    const frames = decodeAll([Buffer.alloc(HEADER_BYTES), encodeFrame({ next: 1 })]);
    expect(frames).toHaveLength(2);
    expect(frames[0].error?.message).toMatch(/not valid JSON/);
    expect(frames[1].json).toEqual({ next: 1 });
  });

  it('answers a byte-counted non-ASCII frame that cannot be character-counted at once', () => {
    // Garbage that is not the start of an object, and an object cut by invalid UTF-8, must not
    // make the decoder wait for bytes that a byte-counting peer never sends.
    for (const bytes of [Buffer.from('xé'), Buffer.from([0x7b, 0xff, 0x22, 0xc3, 0xa9])]) {
      const frames = decodeAll([rawFrame(bytes, bytes.length)]);
      expect(frames).toHaveLength(1);
      expect(frames[0].error).not.toBeNull();
    }
  });

  it('buffers a declared binary section as it arrives and emits it once complete', () => {
    const head = rawFrame(Buffer.from('{}'), 2).subarray(0, HEADER_BYTES + 2);
    head.writeUInt32BE(LIMITS.maxBinaryBytes, 4);
    const frames: StepFrame[] = [];
    const decoder = new FrameDecoder(LIMITS, (f) => frames.push(f));
    decoder.push(head);
    decoder.push(Buffer.alloc(10));
    expect(frames).toHaveLength(0);
    expect(decoder.midFrame).toBe(true);
    decoder.push(Buffer.alloc(LIMITS.maxBinaryBytes - 10, 1));
    expect(frames[0].binary?.length).toBe(LIMITS.maxBinaryBytes);
    expect(frames[0].wireBytes).toBe(HEADER_BYTES + 2 + LIMITS.maxBinaryBytes);
    expect(decoder.midFrame).toBe(false);
  });

  it('refuses JSON nested deeper than MAX_JSON_DEPTH, counting brackets outside strings only', () => {
    const deep = '{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1);
    const atLimit = '{"a":'.repeat(MAX_JSON_DEPTH) + '1' + '}'.repeat(MAX_JSON_DEPTH);
    const inString = JSON.stringify({ a: '[{'.repeat(500), b: '\\"[[[' });
    const frames = decodeAll(
      [deep, atLimit, inString].map((text) => rawFrame(Buffer.from(text), text.length)),
      { maxJsonBytes: 4096, maxBinaryBytes: 0 },
    );
    expect(frames[0].error?.message).toBe(`The JSON section is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    expect(frames[1].json).not.toBeNull();
    expect(frames[2].json).toEqual({ a: '[{'.repeat(500), b: '\\"[[[' });
  });

  describe('binary sections arriving in pieces', () => {
    const wire = Buffer.concat([
      encodeFrame({ a: 1 }, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256))),
      encodeFrame({ b: 'é' }),
      encodeFrame({ c: 3 }, Buffer.from('tail')),
    ]);
    /** Feeds `wire` in pieces of `size`, each a view of one buffer overwritten after every push. */
    function feedTransient(decoder: FrameDecoder, size: number): void {
      const reused = Buffer.alloc(size);
      for (let at = 0; at < wire.length; at += size) {
        const n = wire.copy(reused, 0, at, Math.min(at + size, wire.length));
        decoder.push(reused.subarray(0, n));
        reused.fill(0xee);
      }
    }

    function checkFrames(frames: StepFrame[]): void {
      expect(frames.map((f) => f.json)).toEqual([{ a: 1 }, { b: 'é' }, { c: 3 }]);
      expect(frames[0].binary?.equals(Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256)))).toBe(true);
      expect(frames[1].binary).toBeNull();
      expect(frames[2].binary?.toString()).toBe('tail');
    }

    /** An allocator recording its leases; `grant` says whether reserve may hand one out now. */
    function recordingAllocator(grant: () => boolean = () => true) {
      const reserved: Buffer[] = [];
      const released: Buffer[] = [];
      const lease = (n: number): BlockLease => {
        const buffer = Buffer.alloc(n);
        return { buffer, release: () => released.push(buffer) };
      };
      const allocator: BlockAllocator = {
        allocate: lease,
        reserve: (n) => {
          if (!grant()) return null;
          const l = lease(n);
          reserved.push(l.buffer);
          return l;
        },
      };
      return { allocator, reserved, released };
    }

    it('fills a reserved lease as pieces arrive and hands it out with the frame, for every piece size', () => {
      for (const size of [1, 7, 64, 333, wire.length]) {
        const { allocator, reserved } = recordingAllocator();
        const frames: StepFrame[] = [];
        const decoder = new FrameDecoder(LIMITS, (f) => frames.push(f), { allocator });
        for (let at = 0; at < wire.length; at += size) decoder.push(wire.subarray(at, at + size));
        checkFrames(frames);
        // Only sections that did not arrive whole are reserved, and each is its frame's lease.
        for (const b of reserved) expect(frames.some((f) => f.binary === b && f.lease?.buffer === b)).toBe(true);
        if (size < 300) expect(reserved[0]).toBe(frames[0].binary);
      }
    });

    it('halts when the allocator has no buffer, holds what arrives, and goes on once resumed', () => {
      let granting = false;
      const { allocator } = recordingAllocator(() => granting);
      const frames: StepFrame[] = [];
      const decoder = new FrameDecoder(LIMITS, (f) => frames.push(f), { allocator, chunks: ChunkOwnership.Transient });
      feedTransient(decoder, 5);
      expect(frames).toHaveLength(0);
      expect(decoder.halted).toBe(DecoderHalt.Buffer);
      expect(decoder.pendingBinaryLength).toBe(300);
      granting = true;
      decoder.resume();
      checkFrames(frames);
      expect(decoder.halted).toBe(DecoderHalt.None);
    });

    it('asks before reading a binary section, and reads nothing of it until admitted', () => {
      const heads: FrameHead[] = [];
      const frames: StepFrame[] = [];
      const decoder = new FrameDecoder(LIMITS, (f) => frames.push(f), {
        chunks: ChunkOwnership.Transient,
        admitBinary: (head) => (heads.push(head), false),
      });
      feedTransient(decoder, 64);
      expect(heads).toEqual([{ json: { a: 1 }, error: null, binaryLength: 300 }]);
      expect(decoder.halted).toBe(DecoderHalt.Admission);
      expect(frames).toHaveLength(0);
      decoder.resume();
      // The second frame has no binary section; the third is asked about again (and refused).
      expect(frames.map((f) => f.json)).toEqual([{ a: 1 }, { b: 'é' }]);
      expect(heads).toHaveLength(2);
      expect(decoder.halted).toBe(DecoderHalt.Admission);
      decoder.resume();
      checkFrames(frames);
    });

    it('copies what it keeps from transient chunks, whether the section is reserved or arrives whole', () => {
      for (const size of [1, 3, 17, 100, 1000]) {
        const frames: StepFrame[] = [];
        feedTransient(new FrameDecoder(LIMITS, (f) => frames.push(f), { chunks: ChunkOwnership.Transient }), size);
        checkFrames(frames);
      }
    });

    it('releases the lease of an abandoned section on dispose', () => {
      const { allocator, reserved, released } = recordingAllocator();
      const decoder = new FrameDecoder(LIMITS, () => expect.unreachable('no frame is complete'), { allocator });
      decoder.push(wire.subarray(0, 40));
      expect(decoder.midFrame).toBe(true);
      decoder.dispose();
      expect(released).toEqual(reserved);
      expect(released).toHaveLength(1);
      decoder.dispose();
      expect(released).toHaveLength(1);
    });
  });
});
