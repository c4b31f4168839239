import type { StepClientConnection, StepResponse } from '../../src/client/step-client.connection.js';
import type { TestApp } from './test-app.js';
import { request } from './test-app.js';

/** An admin token long enough for STEP_ADMIN_TOKEN's validation. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** A reply of the admin HTTP API. */
export interface AdminReply {
  status: number;
  body: unknown;
}

/** Calls the admin HTTP API of `app` (bearer `token` unless null). */
export async function admin(
  app: TestApp,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null } = {},
): Promise<AdminReply> {
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${app.httpAddress.port}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** LOGIN with an explicit password (accounts mode). */
export function loginWith(connection: StepClientConnection, username: string, password: string): Promise<StepResponse> {
  return connection.request(request({ type: 'AUTH', operation: 'LOGIN', username, password }));
}

/**
 * Status a token gets past the auth guard: AUTH SAVE is no operation, so an accepted token is
 * answered 408 and a refused one 403 (with the reason in `status_msg`).
 */
export async function tokenCheck(connection: StepClientConnection, token: string): Promise<{ status: number; message: string }> {
  const reply = await connection.request(request({ type: 'AUTH', operation: 'SAVE', token }));
  return { status: reply.json.status as number, message: reply.json.status_msg as string };
}
