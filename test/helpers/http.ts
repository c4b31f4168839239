import type { AddressInfo } from 'node:net';

/** A parsed HTTP reply from the app's HTTP listener. */
export interface HttpReply<T = unknown> {
  status: number;
  contentType: string | null;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: T;
}

/** Calls the app's HTTP listener on loopback (bounded: every call times out). */
export async function http<T = unknown>(
  address: AddressInfo | number,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<HttpReply<T>> {
  const port = typeof address === 'number' ? address : address.port;
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), text, json: json as T };
}
