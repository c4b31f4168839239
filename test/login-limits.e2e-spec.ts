import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../src/common/md5.js';
import { encodeFrame, type StepJson } from '../src/protocol/index.js';
import { openRawSocket, type RawSocket } from './helpers/raw-socket.js';
import { request, startTestApp, type TestApp } from './helpers/test-app.js';

const loginFrame = (username: string, password: string) => encodeFrame(request({ operation: 'LOGIN', type: 'AUTH', username, password }));

/** Issue 12: a classroom behind one NAT address logs in; guessing from one address or at one name is still throttled. */
describe('login limits spare honest crowds', () => {
  let app: TestApp;
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    // Default STEP_LOGIN_ATTEMPTS_PER_MINUTE (120): the crowd below is well past it.
    app = await startTestApp();
  });
  afterAll(async () => {
    for (const s of sockets) s.socket.destroy();
    await app.stop();
  });

  async function open(localAddress: string): Promise<RawSocket> {
    const s = await openRawSocket(app.stepAddress.port, localAddress);
    sockets.push(s);
    return s;
  }

  async function loginAll(s: RawSocket, frames: Buffer[]): Promise<number[]> {
    const before = s.replies.length;
    s.socket.write(Buffer.concat(frames));
    const replies = await s.waitForReplies(before + frames.length, 10_000);
    return replies.slice(before).map((r: StepJson) => r.status as number);
  }

  it('lets 300 correct LOGINs from one address through within seconds', async () => {
    const lanes = await Promise.all(Array.from({ length: 10 }, () => open('127.0.0.21')));
    const statuses = await Promise.all(
      lanes.map((s, lane) =>
        loginAll(
          s,
          Array.from({ length: 30 }, (_, i) => loginFrame(`pupil${lane}-${i}`, md5Hex(`pupil${lane}-${i}`))),
        ),
      ),
    );
    expect(statuses.flat()).toEqual(Array(300).fill(200));
  });

  it('lets 100 clients that connect at once from one address all log in, after earlier logins from it', async () => {
    const earlier = await open('127.0.0.22');
    expect(
      await loginAll(
        earlier,
        Array.from({ length: 60 }, (_, i) => loginFrame(`early${i}`, md5Hex(`early${i}`))),
      ),
    ).toEqual(Array(60).fill(200));
    const crowd = await Promise.all(Array.from({ length: 100 }, () => open('127.0.0.22')));
    const statuses = await Promise.all(crowd.map((s, i) => loginAll(s, [loginFrame(`kid${i}`, md5Hex(`kid${i}`))])));
    expect(statuses.flat()).toEqual(Array(100).fill(200));
  });

  it('answers 429 to an address that keeps failing, yet never to a legacy LOGIN with the right MD5', async () => {
    const s = await open('127.0.0.23');
    const guesses = Array.from({ length: 121 }, (_, i) => loginFrame(`target${i % 3}`, `guess${i}`));
    const statuses = await loginAll(s, guesses);
    expect(statuses.slice(0, 120)).toEqual(Array(120).fill(401));
    expect(statuses[120]).toBe(429);
    expect(s.replies[120]).toMatchObject({ operation: 'LOGIN', type: 'AUTH', status_msg: 'Too many login attempts. Try again later.' });
    // Still failing from that address: 429, not 401. The right legacy password is not a guess.
    expect(await loginAll(s, [loginFrame('target0', 'more'), loginFrame('honest', md5Hex('honest'))])).toEqual([429, 200]);
  });

  it('answers 429 to failures aimed at one user name from many addresses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      const s = await open(`127.0.1.${i + 1}`);
      statuses.push(
        ...(await loginAll(
          s,
          Array.from({ length: 10 }, (_, j) => loginFrame('teacher', `guess${i}-${j}`)),
        )),
      );
    }
    expect(statuses.slice(0, 120)).toEqual(Array(120).fill(401));
    expect(statuses.slice(120)).toEqual(Array(10).fill(429));
    // Other names from those addresses are not affected.
    const other = await open('127.0.1.1');
    expect(await loginAll(other, [loginFrame('student', 'wrong')])).toEqual([401]);
  });

  it('answers 401 (present but wrong), not 410, to an empty password', async () => {
    const s = await open('127.0.0.24');
    const statuses = await loginAll(s, [loginFrame('bob', '')]);
    expect(statuses).toEqual([401]);
    expect(s.replies[0]).toMatchObject({ status_msg: 'Password error for login.' });
  });
});
