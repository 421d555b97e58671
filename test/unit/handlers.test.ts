import { gzipSync } from 'node:zlib';
import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { newCustomer } from '../../lib/domain/customer.ts';
import { defaultProgram } from '../../lib/domain/program.ts';
import { type HttpEvent, type HttpResult, metrics } from '../../lib/http/handler.ts';
import { keys } from '../../lib/store/keys.ts';
import { MAX_ATTEMPTS } from '../../lib/usecases/change.ts';

/** Failure paths AWS produces (throttling, lost races), which DynamoDB Local won't on demand. */
process.env.LOYALTY_TABLE = 'mocked';
const ddb = mockClient(DynamoDBDocumentClient);

type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;
let getCustomer: Handler;
let recordPurchase: Handler;
let createCustomer: Handler;

beforeAll(async () => {
  getCustomer = (await import('../../functions/getCustomer.ts')).handler as unknown as Handler;
  recordPurchase = (await import('../../functions/recordPurchase.ts'))
    .handler as unknown as Handler;
  createCustomer = (await import('../../functions/createCustomer.ts'))
    .handler as unknown as Handler;
});

const context = {
  awsRequestId: 'r',
  functionName: 'f',
  getRemainingTimeInMillis: () => 10_000,
} as Context;
const admin = { keyId: 'key_admin', role: 'admin' };

function event(
  routeKey: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): HttpEvent {
  const [method] = routeKey.split(' ');
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
    isBase64Encoded: false,
    pathParameters: { id: path.split('/')[3] as string },
    requestContext: {
      http: { method, path },
      authorizer: { lambda: admin },
    },
  } as unknown as HttpEvent;
}

const customer = newCustomer('cus_1', { externalId: 'x' }, defaultProgram, new Date());
const purchaseEvent = () =>
  event(
    'POST /v1/purchases',
    '/v1/purchases',
    {
      customerId: 'cus_1',
      storeId: 'sto_1',
      total: { amount: 1000, currency: 'USD' },
    },
    { 'idempotency-key': 'k-1' },
  );

function cancelled(codes: string[]) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

beforeEach(() => {
  ddb.reset();
  ddb.on(GetCommand, { Key: keys.program() }).resolves({});
  ddb.on(GetCommand, { Key: keys.model() }).resolves({});
  ddb.on(GetCommand, { Key: keys.liveCampaigns() }).resolves({});
  // The pass over older receipt guards is done (store/receiptGuards.ts).
  ddb
    .on(GetCommand, { Key: keys.receiptGuardsState() })
    .resolves({ Item: { ...keys.receiptGuardsState(), done: true } });
  ddb.on(BatchGetCommand).resolves({
    Responses: {
      mocked: [
        { ...keys.customer('cus_1'), ...customer },
        { ...keys.store('sto_1'), id: 'sto_1' },
      ],
    },
  });
});

describe('when DynamoDB throttles', () => {
  it('answers 503 problem+json with Retry-After, not a 500', async () => {
    ddb
      .on(GetCommand, { Key: keys.customer('cus_1') })
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    const res = await getCustomer(event('GET /v1/customers/{id}', '/v1/customers/cus_1'), context);
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toBe('1');
    expect(JSON.parse(res.body as string).code).toBe('service-unavailable');
  });
});

describe('when something unexpected fails', () => {
  it('answers 500 problem+json without the internal message', async () => {
    ddb
      .on(GetCommand, { Key: keys.customer('cus_1') })
      .rejects(new Error('secret internal detail at db.ts:42'));
    const res = await getCustomer(event('GET /v1/customers/{id}', '/v1/customers/cus_1'), context);
    expect(res.statusCode).toBe(500);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(res.body).not.toContain('secret');
    expect(res.body).not.toContain('db.ts');
  });
});

describe('recording a purchase against a lost race', () => {
  it('reads the customer again and retries when its version moved on', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled(['ConditionalCheckFailed', 'None', 'None', 'None']))
      .resolves({});
    const added = vi.spyOn(metrics, 'addMetric');
    const res = await recordPurchase(purchaseEvent(), context);
    expect(res.statusCode).toBe(201);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(2);
    // Counted once, though written on the second attempt.
    const earned = JSON.parse(res.body as string).pointsEarned;
    expect(added.mock.calls).toEqual([
      ['Purchases', 'Count', 1],
      ['PointsEarned', 'Count', earned],
    ]);
    added.mockRestore();
  });

  it('replays the winner when another request with the same key committed first', async () => {
    const stored = { status: 201, body: { id: 'pur_winner' } };
    ddb.on(TransactWriteCommand).rejects(
      // The customer, its ledger entry, the day's counts, the idempotency record.
      cancelled(['ConditionalCheckFailed', 'None', 'None', 'ConditionalCheckFailed', 'None']),
    );
    ddb.on(GetCommand, { Key: keys.idempotency('key_admin', 'k-1') }).callsFake(async (input) => {
      // The request hash is recomputed by the handler; answer with the one it asked about.
      const sent =
        ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[3]?.Put?.Item;
      return {
        Item: {
          ...input.Key,
          requestHash: sent?.requestHash,
          // As records written before answers were stored without their status: still replayed.
          status: 201,
          body: gzipSync(JSON.stringify(stored.body)),
          expiresAt: 4e9,
        },
      };
    });
    const added = vi.spyOn(metrics, 'addMetric');
    const res = await recordPurchase(purchaseEvent(), context);
    expect(res.statusCode).toBe(201);
    expect(res.headers?.['idempotent-replayed']).toBe('true');
    expect(added).not.toHaveBeenCalled();
    added.mockRestore();
    expect(JSON.parse(res.body as string)).toEqual(stored.body);
  });

  it('answers 409 conflict when the receipt id is taken', async () => {
    // The customer, its ledger entry, the day's counts, the idempotency record, and the
    // purchase, whose id is its receipt's: its own receipt guard.
    ddb
      .on(TransactWriteCommand)
      .rejects(cancelled(['None', 'None', 'None', 'None', 'ConditionalCheckFailed']));
    const e = purchaseEvent();
    e.body = JSON.stringify({ ...JSON.parse(e.body as string), receiptId: 'R1' });
    const res = await recordPurchase(e, context);
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body as string).code).toBe('conflict');
  });

  it('gives up with 503 (never a double credit) when the customer stays contended', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejects(cancelled(['None', 'None', 'TransactionConflict', 'None']));
    const res = await recordPurchase(purchaseEvent(), context);
    expect(res.statusCode).toBe(503);
    // The one retry policy of every change to a customer (lib/usecases/change.ts).
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(MAX_ATTEMPTS);
  }, 20_000);
});

describe('enrolling against a racing enrolment', () => {
  it('retries a transaction conflict and then answers 409 with the winner', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled(['None', 'TransactionConflict']))
      .rejects(cancelled(['None', 'ConditionalCheckFailed']));
    ddb.on(GetCommand, { Key: keys.identifier('email', 'race@example.com') }).resolves({
      Item: { customerId: 'cus_winner' },
    });
    const res = await createCustomer(
      event('POST /v1/customers', '/v1/customers', { email: 'race@example.com' }),
      context,
    );
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body as string)).toMatchObject({
      code: 'conflict',
      existingCustomerId: 'cus_winner',
    });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });
});
