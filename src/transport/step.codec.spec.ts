import { describe, expect, it } from 'vitest';
import { FrameTooLargeError } from './errors/frame-too-large.error.js';
import { encodeFrame, FrameDecoder, HEADER_BYTES, MAX_JSON_DEPTH, toAsciiJson, type StepFrame } from './step.codec.js';

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
    const frames = decodeAll([deep, atLimit, inString].map((text) => rawFrame(Buffer.from(text), text.length)), { maxJsonBytes: 4096, maxBinaryBytes: 0 });
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

    it('fills a reserved buffer as pieces arrive and settles each byte once, for every piece size', () => {
      for (const size of [1, 7, 64, 333, wire.length]) {
        const reserved: Buffer[] = [];
        const settled: number[] = [];
        const frames: StepFrame[] = [];
        const decoder = new FrameDecoder(
          {
            ...LIMITS,
            reserve: (n) => {
              const b = Buffer.alloc(n);
              reserved.push(b);
              return b;
            },
            settle: (n) => settled.push(n),
          },
          (f) => frames.push(f),
        );
        for (let at = 0; at < wire.length; at += size) decoder.push(wire.subarray(at, at + size));
        checkFrames(frames);
        // Only sections that did not arrive whole are reserved, and each is the frame's buffer.
        for (const b of reserved) expect(frames.some((f) => f.binary === b)).toBe(true);
        const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);
        expect(sum(settled)).toBe(sum(reserved.map((b) => b.length)));
        if (size === 7) expect(settled.length).toBeGreaterThan(reserved.length);
        if (size < 300) expect(reserved[0]).toBe(frames[0].binary);
      }
    });

    it('holds the pieces and allocates at the end when reserve says no', () => {
      const allocated: number[] = [];
      const frames: StepFrame[] = [];
      const decoder = new FrameDecoder(
        { ...LIMITS, reserve: () => null, allocate: (n) => (allocated.push(n), Buffer.alloc(n)) },
        (f) => frames.push(f),
      );
      for (let at = 0; at < wire.length; at += 5) decoder.push(wire.subarray(at, at + 5));
      checkFrames(frames);
      expect(allocated).toEqual([300, 4]);
    });

    it('copies what it keeps from transient chunks, with and without a reserved buffer', () => {
      for (const reserve of [undefined, (n: number) => Buffer.alloc(n), () => null]) {
        for (const size of [1, 3, 17, 100, 1000]) {
          const frames: StepFrame[] = [];
          feedTransient(new FrameDecoder({ ...LIMITS, transientChunks: true, reserve }, (f) => frames.push(f)), size);
          checkFrames(frames);
        }
      }
    });

    it('gives an abandoned reserved buffer back on dispose', () => {
      const discarded: Buffer[] = [];
      const settled: number[] = [];
      let reserved: Buffer | null = null;
      const decoder = new FrameDecoder(
        {
          ...LIMITS,
          reserve: (n) => (reserved = Buffer.alloc(n)),
          settle: (n) => settled.push(n),
          discard: (b) => discarded.push(b),
        },
        () => expect.unreachable('no frame is complete'),
      );
      decoder.push(wire.subarray(0, 40));
      expect(decoder.midFrame).toBe(true);
      decoder.dispose();
      expect(discarded).toEqual([reserved]);
      // 25 bytes of the section arrived before the dispose, the other 275 never did.
      expect(settled).toEqual([25, 275]);
      decoder.dispose();
      expect(discarded).toHaveLength(1);
    });
  });
});
