import { RpcException, type MessageHandler } from '@nestjs/microservices';
import { EMPTY, of, throwError } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { StepError, StepStatus, type FrameHead, type StepFrame, type StepJson } from '../protocol/index.js';
import { StepContext } from './step.context.js';
import { STEP_FALLBACK_PATTERN, type StepPatternOptions } from './step-pattern.decorator.js';
import { StepReply } from './step.reply.js';
import { StepServer } from './step.server.js';
import type { StepServerOptions } from './step-server.options.js';

const peer = { remoteAddress: '127.0.0.1', connectionId: 1 };
const request = (fields: StepJson): StepJson => ({ direction: 'REQUEST', token: 't', ...fields });
const frame = (json: StepJson | null, binary: Buffer | null = null): StepFrame => ({
  json,
  error: null,
  binary,
  lease: null,
  wireBytes: 0,
});
const head = (json: StepJson): FrameHead => ({ json, error: null, binaryLength: 10 });

/** A StepServer (never listening) with raw handlers, and its dispatcher: Nest's real request pipeline. */
function dispatcherWith(
  handlers: Record<string, (json: StepJson, context: StepContext) => unknown>,
  extras: Record<string, StepPatternOptions> = {},
  options: Partial<StepServerOptions> = {},
) {
  const server = new StepServer({ ...options } as StepServerOptions);
  for (const [pattern, handler] of Object.entries(handlers)) {
    server.addHandler(pattern, (async (json: StepJson, context: StepContext) => handler(json, context)) as MessageHandler, false, {
      ...extras[pattern],
    });
  }
  return server.dispatcher;
}

describe('StepDispatcher', () => {
  describe('routing', () => {
    it('routes by type and operation and frames the handler reply', async () => {
      const save = vi.fn((json: StepJson, context: StepContext) => StepReply.ok('saved', { key: json.key, peer: context.getPeer() }));
      const dispatcher = dispatcherWith({ 'FILE:SAVE': save, 'FILE:GET': () => StepReply.ok('nope') });
      const reply = await dispatcher.dispatch(frame(request({ type: 'FILE', operation: 'SAVE', key: 'k' })), peer);
      expect(save).toHaveBeenCalledOnce();
      expect(reply).toMatchObject({ binary: null, close: false, authenticated: false });
      expect(reply.json).toEqual({
        key: 'k',
        peer,
        operation: 'SAVE',
        direction: 'RESPONSE',
        status: 200,
        status_msg: 'saved',
        type: 'FILE',
      });
    });

    it('routes LOGIN whatever its type, and a LOGIN reply puts the connection past login', async () => {
      const dispatcher = dispatcherWith({ 'AUTH:LOGIN': (json) => StepReply.ok(`type ${String(json.type)}`) });
      const reply = await dispatcher.dispatch(frame(request({ type: 'DATA', operation: 'LOGIN' })), peer);
      expect(reply.json).toMatchObject({ status: 200, status_msg: 'type DATA', type: 'DATA' });
      expect(reply.authenticated).toBe(true);
    });

    it('answers the envelope checks before any handler runs, and BYE itself', async () => {
      const handler = vi.fn(() => StepReply.ok('ran'));
      const dispatcher = dispatcherWith({ 'FILE:SAVE': handler, 'FILE:BYE': handler });
      const earth = await dispatcher.dispatch(frame({ type: 'FILE', operation: 'SAVE', direction: 'EARTH' }), peer);
      expect(earth.json).toMatchObject({ status: 333, operation: '3BODY', type: 'DANGEROUS' });
      const missing = await dispatcher.dispatch(frame({ type: 'FILE', operation: 'SAVE' }), peer);
      expect(missing.json).toMatchObject({ status: 400, status_msg: 'Compulsory field direction is missing.' });
      const bye = await dispatcher.dispatch(frame(request({ type: 'FILE', operation: 'BYE' })), peer);
      expect(bye).toMatchObject({ close: true, json: { status: 200, status_msg: 'Bye.' } });
      expect(handler).not.toHaveBeenCalled();
    });

    it('answers a framing error and an unusable JSON section with 400, and reports every written reply to the observer', async () => {
      const replied = vi.fn();
      const dispatcher = dispatcherWith({}, {}, { observer: { replied } });
      const tooLarge = new StepError(StepStatus.TOO_LARGE, 'too large', { closeConnection: true });
      const first = await dispatcher.dispatch(tooLarge, peer);
      expect(first).toMatchObject({ close: true, json: { status: 413, operation: 'ERROR' } });
      const broken = { ...frame(null, Buffer.alloc(3)), error: { message: 'The JSON section is not valid JSON.' } } as StepFrame;
      const second = await dispatcher.dispatch(broken, peer);
      expect(second.json).toMatchObject({ status: 400, status_msg: broken.error!.message });
      // Observers hear of a reply once the connection has written it, not before.
      expect(replied).not.toHaveBeenCalled();
      dispatcher.written(first);
      dispatcher.written(second);
      expect(replied).toHaveBeenCalledTimes(2);
      expect(replied.mock.calls[1][0]).toMatchObject({ operation: 'ERROR', type: 'ERROR', status: 400, bytesIn: 3, bytesOut: 0 });
    });

    it('hands a leased reply block over with the reply', async () => {
      const lease = { buffer: Buffer.from('block'), release: vi.fn() };
      const dispatcher = dispatcherWith({ 'FILE:DOWNLOAD': () => StepReply.ok('An available block.', {}, lease) });
      const reply = await dispatcher.dispatch(frame(request({ type: 'FILE', operation: 'DOWNLOAD' })), peer);
      expect(reply.binary).toBe(lease.buffer);
      expect(reply.lease).toBe(lease);
      expect(lease.release).not.toHaveBeenCalled();
    });
  });

  describe('the handler result', () => {
    it('takes a reply returned as is, as a promise or as an Observable (an interceptor, a filter)', async () => {
      const dispatcher = dispatcherWith({
        'DATA:GET': () => StepReply.ok('plain'),
        'DATA:SAVE': async () => StepReply.ok('promised'),
        'DATA:LIST': () => of(StepReply.ok('observed'), StepReply.ok('second')),
        'DATA:DELETE': () => throwError(() => StepError.keyNotFound('k')),
        'FILE:LIST': () => EMPTY,
      });
      const answer = async (type: string, operation: string) =>
        (await dispatcher.dispatch(frame(request({ type, operation })), peer)).json.status_msg;
      expect(await answer('DATA', 'GET')).toBe('plain');
      expect(await answer('DATA', 'SAVE')).toBe('promised');
      expect(await answer('DATA', 'LIST')).toBe('observed');
      expect(await answer('DATA', 'DELETE')).toBe('The key k is not existing.');
      const logged = vi.spyOn(dispatcher['logger'], 'error').mockImplementation(() => undefined);
      expect(await answer('FILE', 'LIST')).toBe('Internal server error.');
      expect(logged).toHaveBeenCalledOnce();
    });

    it('runs Nest processing hooks around every request, the end hook once the handler is done', async () => {
      const events: string[] = [];
      const server = new StepServer({} as StepServerOptions);
      server.addHandler('DATA:GET', (async () => {
        events.push('handler');
        return StepReply.ok('got');
      }) as MessageHandler);
      server.addHandler('DATA:DELETE', (async () => {
        events.push('handler');
        return throwError(() => StepError.keyNotFound('k'));
      }) as MessageHandler);
      server.setOnProcessingStartHook((_transport, context, done) => {
        events.push(`start ${String((context as StepContext).getRequest().operation)}`);
        return done();
      });
      server.setOnProcessingEndHook(() => events.push('end'));
      await server.dispatcher.dispatch(frame(request({ type: 'DATA', operation: 'GET' })), peer);
      await server.dispatcher.dispatch(frame(request({ type: 'DATA', operation: 'DELETE' })), peer);
      expect(events).toEqual(['start GET', 'handler', 'end', 'start DELETE', 'handler', 'end']);
    });
  });

  describe('what a request may carry, declared on its handler', () => {
    const declared = { 'FILE:UPLOAD': { binary: true }, 'FILE:DOWNLOAD': { repliesWithBlock: true } };
    const handlers = { 'FILE:UPLOAD': () => StepReply.ok('up'), 'FILE:DOWNLOAD': () => StepReply.ok('down'), 'FILE:SAVE': () => null };

    it('admits a binary section only for a handler that takes one, and checks its token first', async () => {
      const authenticate = vi.fn(async (token: unknown) => token);
      const dispatcher = dispatcherWith(handlers, declared, { authenticate });
      expect(await dispatcher.admitBinary(head(request({ type: 'FILE', operation: 'UPLOAD' })), peer)).toBeNull();
      expect(authenticate).toHaveBeenCalledWith('t');
      for (const json of [request({ type: 'FILE', operation: 'SAVE' }), request({ type: 'AUTH', operation: 'LOGIN' })]) {
        const refused = (await dispatcher.admitBinary(head(json), peer)) as StepError;
        expect(refused).toBeInstanceOf(StepError);
        expect(refused).toMatchObject({ status: 400, message: 'This request takes no binary section.' });
        expect(refused.options).toMatchObject({ closeConnection: true, envelope: { operation: json.operation, type: json.type } });
      }
      expect(authenticate).toHaveBeenCalledOnce();
    });

    it('refuses a binary section whose envelope or token is wrong, with the error to answer before closing', async () => {
      const authenticate = vi.fn(async (token: unknown) => {
        if (token === 'boom') throw new Error('database gone');
        throw new StepError(StepStatus.TOKEN_INVALID, 'Token is wrong.');
      });
      const dispatcher = dispatcherWith(handlers, declared, { authenticate });
      const logged = vi.spyOn(dispatcher['logger'], 'error').mockImplementation(() => undefined);
      const upload = request({ type: 'FILE', operation: 'UPLOAD' });
      expect(await dispatcher.admitBinary(head(upload), peer)).toMatchObject({ status: 403, options: { closeConnection: true } });
      expect(await dispatcher.admitBinary(head({ ...upload, token: 'boom' }), peer)).toMatchObject({ status: 500 });
      expect(logged).toHaveBeenCalledOnce();
      expect(await dispatcher.admitBinary(head({ ...upload, direction: 'SIDEWAYS' }), peer)).toMatchObject({ status: 407 });
      const unusable = await dispatcher.admitBinary({ json: null, error: null, binaryLength: 1 }, peer);
      expect(unusable).toMatchObject({ status: 400, options: { closeConnection: true, envelope: { operation: 'ERROR' } } });
    });

    it('admits at once, for a second, a token the guard accepted on the same connection; asks again otherwise', async () => {
      vi.useFakeTimers({ toFake: ['performance'] });
      try {
        const authenticate = vi.fn(async () => ({}));
        const session = { username: 'u', sessionId: 's' };
        const guarded = (json: StepJson, context: StepContext) => {
          // What the auth guard does: a good token gets the request a session, a bad one a 403.
          if (json.token === 'bad') throw new StepError(StepStatus.TOKEN_INVALID, 'Token is wrong.');
          context.session = session;
          return StepReply.ok('done');
        };
        const dispatcher = dispatcherWith({ 'FILE:UPLOAD': guarded, 'AUTH:LOGOUT': guarded }, declared, { authenticate });
        const upload = (token: string) => request({ type: 'FILE', operation: 'UPLOAD', token });
        const admitted = (token: string, from = peer) => dispatcher.admitBinary(head(upload(token)), from) === null;
        const served = (json: StepJson) => dispatcher.dispatch(frame(json), peer);

        expect(admitted('t')).toBe(false);
        await served(upload('t'));
        expect(admitted('t')).toBe(true);
        expect(admitted('t', { ...peer, connectionId: 2 })).toBe(false);
        expect(admitted('other')).toBe(false);
        const asked = authenticate.mock.calls.length;
        expect(admitted('t')).toBe(true);
        expect(authenticate).toHaveBeenCalledTimes(asked);
        vi.advanceTimersByTime(1000);
        expect(admitted('t')).toBe(false);
        await served(upload('t'));
        expect(admitted('t')).toBe(true);
        // The guard refused a request of this connection, or its session ended: memory no longer admits.
        expect((await served(upload('bad'))).json.status).toBe(403);
        expect(admitted('t')).toBe(false);
        await served(upload('t'));
        await served(request({ type: 'AUTH', operation: 'LOGOUT', token: 't' }));
        expect(admitted('t')).toBe(false);
        // An asynchronous admission that succeeds is remembered too.
        expect(await dispatcher.admitBinary(head(upload('t')), peer)).toBeNull();
        expect(admitted('t')).toBe(true);
      } finally {
        vi.useRealTimers();
      }
    });

    it('says which replies carry a block', () => {
      const dispatcher = dispatcherWith(handlers, declared);
      expect(dispatcher.repliesWithBlock(frame(request({ type: 'FILE', operation: 'DOWNLOAD' })))).toBe(true);
      expect(dispatcher.repliesWithBlock(frame(request({ type: 'FILE', operation: 'UPLOAD' })))).toBe(false);
      expect(dispatcher.repliesWithBlock(frame(request({ type: 'DATA', operation: 'DOWNLOAD' })))).toBe(false);
      expect(dispatcher.repliesWithBlock(frame(null))).toBe(false);
    });
  });

  describe('errors', () => {
    it('answers 408 for an operation the type does not have, through the fallback handler when there is one', async () => {
      const bare = dispatcherWith({});
      const json = request({ type: 'AUTH', operation: 'SAVE' });
      expect((await bare.dispatch(frame(json), peer)).json).toMatchObject({
        status: 408,
        status_msg: 'Operation SAVE is not allowed for type AUTH',
        operation: 'SAVE',
        type: 'AUTH',
      });
      const guarded = dispatcherWith({
        [STEP_FALLBACK_PATTERN]: () => {
          throw new StepError(StepStatus.TOKEN_INVALID, 'Token is wrong.');
        },
      });
      expect((await guarded.dispatch(frame(json), peer)).json).toMatchObject({ status: 403, status_msg: 'Token is wrong.' });
    });

    it('answers a StepError thrown by a handler with its own status, message and fields', async () => {
      const dispatcher = dispatcherWith({
        'FILE:GET': () => {
          throw StepError.keyNotFound('k');
        },
        'FILE:LIST': () => Promise.reject(new RpcException(StepError.fieldMissing('key', 'LIST'))),
      });
      const get = await dispatcher.dispatch(frame(request({ type: 'FILE', operation: 'GET' })), peer);
      expect(get).toMatchObject({ close: false, json: { status: 404, status_msg: 'The key k is not existing.', key: 'k' } });
      const list = await dispatcher.dispatch(frame(request({ type: 'FILE', operation: 'LIST' })), peer);
      expect(list.json).toMatchObject({ status: 410, status_msg: '"key" has to be a field for LIST' });
    });

    it('answers anything else with a generic 500 that shows no internals', async () => {
      const dispatcher = dispatcherWith({
        'FILE:GET': () => {
          throw new Error('/secret/path is gone');
        },
        'FILE:LIST': () => ({ not: 'a StepReply' }),
      });
      const logged = vi.spyOn(dispatcher['logger'], 'error').mockImplementation(() => undefined);
      for (const operation of ['GET', 'LIST']) {
        const reply = await dispatcher.dispatch(frame(request({ type: 'FILE', operation })), peer);
        expect(reply.json).toMatchObject({ status: 500, status_msg: 'Internal server error.', operation });
      }
      expect(logged).toHaveBeenCalledTimes(2);
    });
  });
});
