import { describe, expect, it } from 'vitest';
import { responseProblem } from '../support/responseCheck.ts';

const purchase = {
  id: 'pur_1',
  customerId: 'cus_1',
  storeId: 'sto_1',
  total: { amount: 100, currency: 'USD' },
  occurredAt: '2026-01-01T00:00:00.000Z',
  pointsEarned: 1,
  breakdown: [{ source: 'base', points: 1 }],
  pointsStatus: 'available',
  refunded: { amount: 0, currency: 'USD' },
  earnableSpend: { amount: 100, currency: 'USD' },
};

describe('the answers the tests get are checked against the OpenAPI document', () => {
  it('takes an answer that conforms, and one that is not JSON', () => {
    expect(responseProblem('GET', '/v1/purchases/pur_1', 200, 'application/json', purchase)).toBe(
      undefined,
    );
    expect(responseProblem('GET', '/docs', 200, 'text/html; charset=utf-8', '<html>')).toBe(
      undefined,
    );
  });

  it('names the operation, the status and the path of a field the document does not declare', () => {
    const problem = responseProblem('GET', '/v1/purchases/pur_1?x=1', 200, 'application/json', {
      ...purchase,
      secret: 1,
      breakdown: [{ source: 'base', points: 1, why: 'x' }],
    });
    expect(problem).toMatch(/^GET \/v1\/purchases\/\{id\} \(getPurchase\) answered 200 /);
    expect(problem).toContain('/secret: not declared');
    expect(problem).toContain('/breakdown/*/why: not declared');
  });

  it('refuses a status the operation does not declare, and a wrong type', () => {
    expect(responseProblem('GET', '/v1/health', 418, 'application/json', {})).toMatch(
      /GET \/v1\/health \(\w+\) answered 418, a status the document does not declare/,
    );
    expect(
      responseProblem('GET', '/v1/purchases/pur_1', 200, 'application/json', {
        ...purchase,
        pointsEarned: '1',
      }),
    ).toContain('/pointsEarned: must be integer');
  });
});
