import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { type LocalApi, startLocalApi } from '../../lib/local/runtime.ts';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestApi {
  api: LocalApi;
  /** fetch against the local server; JSON bodies are stringified, JSON answers parsed. */
  call(
    method: string,
    path: string,
    options?: {
      key?: string | null;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    },
  ): Promise<{ status: number; headers: Headers; body: any }>;
}

/**
 * The real local HTTP server over the run's DynamoDB Local, on a table of its own, so
 * test files can run in parallel.
 */
export async function startTestApi(): Promise<TestApi> {
  const api = await startLocalApi({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `test-${randomUUID()}`,
    adminKey: ADMIN_KEY,
  });
  const call: TestApi['call'] = async (method, path, options = {}) => {
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        ...(key !== null && { 'x-api-key': key }),
        ...((options.body !== undefined || options.rawBody !== undefined) && {
          'content-type': 'application/json',
        }),
        ...options.headers,
      },
      ...(options.rawBody !== undefined && { body: options.rawBody }),
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  };
  return { api, call };
}

/** A fresh redemption code of a customer: a session token from `appKey`, then the code. */
export async function redemptionCodeFor(
  t: TestApi,
  customerId: string,
  appKey: string,
): Promise<string> {
  const { token } = (
    await t.call('POST', `/v1/customers/${customerId}/session-tokens`, { key: appKey })
  ).body;
  const { code } = (
    await t.call('POST', '/v1/me/redemption-codes', {
      key: null,
      headers: { authorization: `Bearer ${token}` },
    })
  ).body;
  return code;
}
