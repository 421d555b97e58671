/**
 * The console's API client: openapi-fetch, typed by the types openapi-typescript generates
 * from the served OpenAPI document (api.gen.ts, `npm run openapi`). Every call carries the
 * admin key; every failure becomes an ApiProblem with the API's problem+json fields.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './api.gen.ts';

export type Schemas = components['schemas'];
export type Customer = Schemas['Customer'];
export type LedgerEntry = Schemas['LedgerEntry'];
export type Erasure = Schemas['Erasure'];
export type DataExport = Schemas['Export'];
export type LapsedCustomer = Schemas['LapsedCustomer'];
export type RetentionReport = Schemas['RetentionReport'];
export type LapseQuality = Schemas['LapseQuality'];
export type Campaign = Schemas['Campaign'];
export type CreateCampaign = Schemas['CreateCampaign'];
export type CampaignUplift = Schemas['CampaignUplift'];
export type LapseReasonCode = Schemas['LapseReason']['reason'];

/** A row of the daily report (GET /v1/reports/daily), one UTC day. */
export type DailyRow =
  paths['/v1/reports/daily']['get']['responses'][200]['content']['application/json']['items'][number];

export type Api = Client<paths>;

/** A failed call: the API's problem (status and code), or status 0 when it was not reached. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors: { path: string; message: string }[] = [],
  ) {
    super(detail);
  }
}

/**
 * The API's root, from the page's own address: `<root>/console/` or `<root>/console`, so the
 * console works under a base path (a custom domain's mapping) too.
 */
export const apiRoot = (): string =>
  new URL(location.pathname.endsWith('/') ? '../' : './', location.href).href;

export function createApi(key: string): Api {
  const api = createClient<paths>({ baseUrl: apiRoot() });
  api.use({
    onRequest: ({ request }) => {
      request.headers.set('x-api-key', key);
      return request;
    },
  });
  return api;
}

function problemOf(status: number, error: unknown): ApiProblem {
  if (error !== null && typeof error === 'object') {
    const p = error as Record<string, unknown>;
    const detail =
      typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : '';
    const errors = Array.isArray(p.errors) ? (p.errors as ApiProblem['errors']) : [];
    // API Gateway's own 401 (no x-api-key header at all) is {"message": "Unauthorized"}.
    const message = typeof p.message === 'string' ? p.message : '';
    return new ApiProblem(
      status,
      typeof p.code === 'string' ? p.code : `http-${status}`,
      detail || message || `HTTP ${status}`,
      errors,
    );
  }
  return new ApiProblem(status, `http-${status}`, `HTTP ${status}`);
}

/** The data of a call, or its problem thrown. */
export async function ok<D>(
  call: Promise<{ data?: D; error?: unknown; response: Response }>,
): Promise<D> {
  let result: { data?: D; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw new ApiProblem(0, 'unreachable', `The API did not answer (${(error as Error).message})`);
  }
  if (!result.response.ok) throw problemOf(result.response.status, result.error);
  return result.data as D;
}

/** A fresh Idempotency-Key for one action (getRandomValues: works on plain http too). */
export function idempotencyKey(action: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${action}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
