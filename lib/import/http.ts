/**
 * The importer's calls to the API: one request retried with backoff (under one
 * Idempotency-Key for a POST), a batch posted, a customer looked up by its externalId, the
 * program's currency.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** Attempts per request before giving up (network errors, 429, 5xx, a key in use). */
const MAX_ATTEMPTS = 8;

/** The first retry's delay; each next one doubles, up to MAX_RETRY_DELAY_MS, with jitter. */
const BASE_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 20_000;

/** How long a batch whose Idempotency-Key is in use (409) is retried: past the API's 60 s mark. */
const KEY_IN_USE_PATIENCE_MS = 90_000;

/** A request not answered in this time counts as a network error (and is retried). */
const REQUEST_TIMEOUT_MS = 60_000;

/** Where the API is and how to call it. */
export interface Connection {
  base: string;
  key: string;
  fetch: typeof fetch;
}

/** An answer not worth retrying: its status and parsed JSON body (undefined if not JSON). */
interface Answer {
  status: number;
  body: unknown;
}

/**
 * One API call, retried on network errors, 429, 5xx and 409 idempotency-key-in-use with
 * exponential backoff and jitter, or after Retry-After when the API says how long; a POST
 * reuses its Idempotency-Key on every attempt, so a retry never applies a batch twice.
 */
async function call(
  connection: Connection,
  request: { method: 'GET' | 'POST'; path: string; body?: string; idempotencyKey?: string },
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-api-key': connection.key };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
  const what = `${request.method} ${request.path}`;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    let answer: Answer;
    let retryAfterMs: number | undefined;
    try {
      const response = await connection.fetch(`${connection.base}${request.path}`, {
        method: request.method,
        headers,
        body: request.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      answer = { status: response.status, body: await jsonBody(response) };
      retryAfterMs = retryAfter(response.headers.get('retry-after'));
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS) {
        throw new Error(`${what}: ${describeNetworkError(error)} (after ${attempt} attempts)`);
      }
      await sleep(backoff(attempt));
      continue;
    }
    if (!isRetryable(answer)) return answer;
    // A key in use is a batch still running (or one whose function died: its mark lapses
    // after a minute), so that answer is waited out longer than the others.
    const waitingForKey =
      answer.status === 409 && performance.now() - started < KEY_IN_USE_PATIENCE_MS;
    if (attempt >= MAX_ATTEMPTS && !waitingForKey) {
      throw new Error(`${what}: still ${describeProblem(answer)} after ${attempt} attempts`);
    }
    await sleep(retryAfterMs ?? backoff(attempt));
  }
}

async function jsonBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRetryable(answer: Answer): boolean {
  return (
    answer.status === 429 ||
    answer.status >= 500 ||
    (answer.status === 409 && problemCode(answer.body) === 'idempotency-key-in-use')
  );
}

/** Retry-After in milliseconds (seconds form only), plus a little jitter; else undefined. */
function retryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000 + Math.random() * BASE_RETRY_DELAY_MS;
}

/** The delay before attempt `attempt + 1`: doubling from the base, capped, half of it jitter. */
export function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, BASE_RETRY_DELAY_MS * 2 ** (attempt - 1));
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

function problemCode(body: unknown): string | undefined {
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "400 invalid-request: <detail>" from a problem+json answer (or as much as it has). */
function describeProblem(answer: Answer): string {
  const problem = (answer.body ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
  const code = typeof problem.code === 'string' ? ` ${problem.code}` : '';
  const text = problem.detail ?? problem.title;
  return `${answer.status}${code}${typeof text === 'string' ? `: ${text}` : ''}`;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = cause?.code ?? cause?.message;
  const message = error instanceof Error ? error.message : String(error);
  return typeof detail === 'string' ? `${message} (${detail})` : message;
}

/** A fatal error for an answer that refuses a whole request. */
function refused(what: string, answer: Answer): Error {
  return new Error(`${what} refused: ${describeProblem(answer)}`);
}

/** POSTs one batch under a fresh Idempotency-Key; anything but 200 is fatal. */
export async function postBatch(
  connection: Connection,
  path: string,
  items: unknown[],
): Promise<unknown> {
  const answer = await call(connection, {
    method: 'POST',
    path,
    body: JSON.stringify({ items }),
    idempotencyKey: randomUUID(),
  });
  if (answer.status !== 200)
    throw refused(`POST ${path} (a batch of ${items.length} rows)`, answer);
  return answer.body;
}

/** The customer id for an externalId, or null when the API has none (404). */
export async function lookUpCustomer(
  connection: Connection,
  externalId: string,
): Promise<string | null> {
  const path = `/v1/customers?externalId=${encodeURIComponent(externalId)}`;
  const answer = await call(connection, { method: 'GET', path });
  if (answer.status === 404) return null;
  const id = (answer.body as { id?: unknown } | undefined)?.id;
  if (answer.status !== 200 || typeof id !== 'string') throw refused(`GET ${path}`, answer);
  return id;
}

/** The program's currency, the default of purchase rows without one. */
export async function fetchProgramCurrency(connection: Connection): Promise<string> {
  const answer = await call(connection, { method: 'GET', path: '/v1/program' });
  const currency = (answer.body as { currency?: unknown } | undefined)?.currency;
  if (answer.status !== 200 || typeof currency !== 'string') {
    throw refused('GET /v1/program', answer);
  }
  return currency;
}
