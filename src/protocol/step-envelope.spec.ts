import { describe, expect, it } from 'vitest';
import { replyJson } from './step-envelope.js';
import type { StepJson } from './step-json.js';

/** What replyJson builds, written as the object spread it replaces. */
function spreadReply(request: StepJson | null, status: number, message: string, fields: StepJson = {}): StepJson {
  return {
    ...fields,
    operation: request?.operation ?? 'ERROR',
    direction: 'RESPONSE',
    status,
    status_msg: message,
    type: request?.type ?? 'ERROR',
  };
}

describe('replyJson', () => {
  const request = { type: 'DATA', operation: 'GET', direction: 'REQUEST', token: 't' };

  it('puts the handler fields first and the envelope after them, in the order the wire shows', () => {
    const fields = JSON.parse('{"value":[1,{"a":2}],"key":"k","status":"mine","type":7}') as StepJson;
    const json = replyJson(request, 200, 'A stored record.', fields);
    expect(JSON.stringify(json)).toBe(JSON.stringify(spreadReply(request, 200, 'A stored record.', fields)));
    expect(Object.keys(json)).toEqual(['value', 'key', 'status', 'type', 'operation', 'direction', 'status_msg']);
    expect(json).toMatchObject({ status: 200, type: 'DATA', operation: 'GET', direction: 'RESPONSE' });
  });

  it('keeps a field named __proto__ as a field, without touching the reply prototype', () => {
    const fields = JSON.parse('{"__proto__":{"polluted":true},"x":1}') as StepJson;
    const json = replyJson(request, 200, 'ok', fields);
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect((json as { polluted?: boolean }).polluted).toBeUndefined();
    expect(JSON.stringify(json)).toBe(JSON.stringify(spreadReply(request, 200, 'ok', fields)));
  });

  it('answers a request it cannot read with the ERROR envelope, or with the envelope it is given', () => {
    expect(replyJson(null, 400, 'bad')).toEqual({
      operation: 'ERROR',
      direction: 'RESPONSE',
      status: 400,
      status_msg: 'bad',
      type: 'ERROR',
    });
    expect(replyJson({ operation: { a: 1 }, type: 5 }, 402, 'odd')).toMatchObject({ operation: '{"a":1}', type: '5' });
    const envelope = { operation: '3BODY', type: 'DANGEROUS' };
    expect(replyJson(request, 333, 'no', {}, envelope)).toMatchObject(envelope);
  });
});
