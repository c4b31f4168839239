import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameDeadline } from './frame-deadline.js';

describe('FrameDeadline', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('expires a frame whose bytes stop coming, and one that trickles past the cap', () => {
    const expired = vi.fn();
    const deadline = new FrameDeadline(1000, 5000, expired);
    deadline.arm();
    vi.advanceTimersByTime(999);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledExactlyOnceWith('no bytes for 1000 ms');

    const trickled = vi.fn();
    const slow = new FrameDeadline(1000, 5000, trickled);
    slow.arm();
    for (let read = 0; read < 9; read++) {
      vi.advanceTimersByTime(500);
      slow.progress();
    }
    expect(trickled).not.toHaveBeenCalled();
    vi.advanceTimersByTime(600);
    expect(trickled).toHaveBeenCalledExactlyOnceWith('incomplete after 5000 ms');
  });

  it('gives each frame its own clock, from one timer for frames that complete in time', () => {
    const expired = vi.fn();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const deadline = new FrameDeadline(1000, 5000, expired);
    for (let frame = 0; frame < 100; frame++) {
      deadline.arm();
      vi.advanceTimersByTime(5);
      deadline.clear();
    }
    expect(timers).toHaveBeenCalledOnce();
    // A frame started just before the first frame's timer fires still gets its full second.
    vi.advanceTimersByTime(1000 - 500 - 5);
    deadline.arm();
    vi.advanceTimersByTime(999);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledOnce();
  });

  it('never fires for a cleared or disposed deadline', () => {
    const expired = vi.fn();
    const deadline = new FrameDeadline(1000, 5000, expired);
    deadline.arm();
    deadline.clear();
    vi.advanceTimersByTime(10_000);
    deadline.arm();
    deadline.dispose();
    vi.advanceTimersByTime(10_000);
    expect(expired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
