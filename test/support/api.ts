import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { type LocalApi, startLocalApi } from '../../lib/local/runtime.ts';
import { responseProblem } from './responseCheck.ts';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestApi {
  api: Pick<LocalApi, 'url' | 'stop' | 'dynamoEndpoint'>;
  /** Its table's name. */
  table: string;
  /**
   * fetch against the local server; JSON bodies are stringified, JSON answers parsed and
   * checked against the OpenAPI document (a mismatch throws, naming the operation, status
   * and path).
   */
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

/** Every item of a paginated list, following its cursors (`limit` a page); each page must answer 200. */
export async function allPages(
  t: Pick<TestApi, 'call'>,
  path: string,
  limit = 100,
): Promise<any[]> {
  const all: any[] = [];
  const sep = path.includes('?') ? '&' : '?';
  let cursor: string | null = null;
  do {
    const page = await t.call(
      'GET',
      `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    if (page.status !== 200)
      throw new Error(`GET ${path}: ${page.status} ${JSON.stringify(page.body)}`);
    all.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return all;
}

/**
 * The real local HTTP server over the run's DynamoDB Local, on a table of its own, so
 * test files can run in parallel.
 */
export async function startTestApi(): Promise<TestApi> {
  const table = `test-${randomUUID()}`;
  const api = await startLocalApi({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: table,
    adminKey: ADMIN_KEY,
  });
  return { api, table, call: caller(api.url) };
}

/**
 * Another API on a table of its own, in a child process (a process has one table): for
 * tests that do the same thing two ways and compare the tables.
 */
export async function startSecondTestApi(): Promise<TestApi> {
  const table = `test-${randomUUID()}`;
  const child = spawn(join('node_modules', '.bin', 'tsx'), ['test/support/apiProcess.ts'], {
    env: {
      ...process.env,
      TEST_DYNAMO_ENDPOINT: inject('dynamoEndpoint'),
      TEST_TABLE: table,
      TEST_ADMIN_KEY: ADMIN_KEY,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the second API exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('listening ')) resolve(line.slice('listening '.length));
    });
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { api: { url, stop, dynamoEndpoint: inject('dynamoEndpoint') }, table, call: caller(url) };
}

/** Every item of a test table (a Scan: test tables are small). */
export async function tableItems(table: string): Promise<Record<string, any>[]> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: inject('dynamoEndpoint'),
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const items: Record<string, any>[] = [];
  for await (const page of paginateScan({ client }, { TableName: table, ConsistentRead: true })) {
    items.push(...(page.Items ?? []));
  }
  client.destroy();
  return items;
}

function caller(url: string): TestApi['call'] {
  return async (method, path, options = {}) => {
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    const response = await fetch(`${url}${path}`, {
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
    const body = text ? JSON.parse(text) : undefined;
    // Every JSON answer conforms to the OpenAPI document (support/responseCheck.ts).
    const problem =
      body === undefined
        ? undefined
        : responseProblem(
            method,
            path,
            response.status,
            response.headers.get('content-type'),
            body,
          );
    if (problem) throw new Error(problem);
    return { status: response.status, headers: response.headers, body };
  };
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
