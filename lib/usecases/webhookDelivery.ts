/**
 * Webhook delivery (the README's "Webhooks"): every outbox event sent to each endpoint that
 * takes its type, signed, retried with backoff for a day. One job, `deliver-webhooks`, does
 * it all, the same code in AWS (every minute) and under `npm start` (every 2 s): fan the new
 * outbox events out into deliveries (store/webhooks.ts), then send what is due. Also the
 * pieces an endpoint's ping shares with it (webhookEndpoints.ts): the URL rules, signing,
 * what counts as delivered, how long the log keeps a delivery.
 */
import { decodeTime, encodeTime } from 'ulid';
import { config } from '../config.ts';
import type { DomainEvent } from '../domain/ledger.ts';
import { newId } from '../ids.ts';
import {
  allEndpoints,
  cancelDelivery,
  claimDelivery,
  deliveryKeyString,
  dueDeliveries,
  existingDeliveries,
  getEndpoint,
  insertDelivery,
  outboxFrom,
  readCursor,
  recordAttempt,
  type SealedSecret,
  saveCursor,
  type WebhookEndpoint,
} from '../store/webhooks.ts';
import { openSecret } from '../webhooks/secrets.ts';
import { signatureHeader } from '../webhooks/signature.ts';
import { sendWebhook, type UrlPolicy } from '../webhooks/url.ts';
import { inParallel } from './parallel.ts';

/** A delivery is retried for at least this long after it was created, then `failed`. */
export const RETRY_FOR_MS = 24 * 3_600_000;
/** The first retry waits this long; each next one twice as long, up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 60_000;
export const RETRY_MAX_MS = 3_600_000;
/** A receiver has this long to answer (headers and body). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/**
 * A claimed delivery is due again this long after its claim should the worker die before
 * reporting (longer than an attempt can take).
 */
const LEASE_MS = 30_000;
/**
 * Outbox events are re-read this far back behind the cursor: an event's id is taken just
 * before its transaction commits, so one may appear after a later id was fanned out.
 */
const LOOKBACK_MS = 120_000;
/** Deliveries sent at once by one run... */
const PARALLEL = 16;
/** ...and to one endpoint: a slow receiver holds at most this many of them. */
const PER_ENDPOINT = 4;
/** Timeouts in a row after which a run leaves an endpoint's deliveries for the next run. */
const TIMEOUTS_TO_SKIP = 3;
/** A delivered, failed or cancelled delivery stays in the log this long. */
const LOG_DAYS = 30;

/**
 * The URL rules: https, or http to a loopback address on the local runtime (DynamoDB
 * Local's endpoint set); never a private, link-local or metadata address.
 */
export function urlPolicy(): UrlPolicy {
  return { allowLoopback: config().dynamoEndpoint !== undefined };
}

/** When attempt `n` (1 = the first) failed at `at`, the next one: or none, failed for good. */
export function nextAttemptAfter(n: number, at: number, createdAt: number): number | undefined {
  if (at - createdAt >= RETRY_FOR_MS) return undefined;
  return at + Math.min(RETRY_FIRST_MS * 2 ** Math.min(n - 1, 20), RETRY_MAX_MS);
}

/** The secrets that sign at `now`: the current one first, then those rotated out < 24 h ago. */
export const inForce = (secrets: SealedSecret[], now: number) =>
  secrets.filter((s) => s.until === undefined || Date.parse(s.until) > now);

/**
 * The request for `event` to `endpoint`, signed by its secrets in force at `now` (the
 * run's clock), stamped with the time it is sent.
 */
export async function signedRequest(
  endpoint: WebhookEndpoint,
  eventId: string,
  body: string,
  now: number,
) {
  const t = Math.floor(Date.now() / 1000);
  const secrets = await Promise.all(
    inForce(endpoint.secrets, now).map((s) => openSecret(s.sealed, endpoint.id)),
  );
  return {
    headers: {
      'content-type': 'application/json',
      'loyalty-event-id': eventId,
      'loyalty-signature': signatureHeader(secrets, body, t),
      'user-agent': 'loyalty-webhooks/1',
    },
    body,
  };
}

export const isOk = (code: number | undefined) => code !== undefined && code >= 200 && code < 300;

// ---------------------------------------------------------------- the job

const ulidTime = (id: string) => id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11);
const subscribes = (endpoint: WebhookEndpoint, event: DomainEvent) =>
  // An endpoint takes the events of its own time on, not the outbox's past.
  ulidTime(event.id) >= ulidTime(endpoint.id) &&
  (endpoint.events.includes('*') || endpoint.events.includes(event.type));

export interface WebhookRun {
  asOf: string;
  /** Deliveries created from new outbox events. */
  fannedOut: number;
  delivered: number;
  /** Attempts that failed and will be tried again. */
  retried: number;
  /** Deliveries that failed for good (24 h of retries) this run. */
  failed: number;
  /** Deliveries this run found due to a deleted endpoint: cancelled, not failed. */
  cancelled: number;
  complete: boolean;
}

/**
 * The delivery job: fans out the outbox events since the cursor, then sends every
 * delivery due by `asOf`, claimed one by one, so overlapping runs (or a run after one
 * that died) send each attempt once. Leases, attempt times and the retry schedule follow
 * `clock` (the real one; tests move it on), never asOf, so a run as of another time cannot
 * shorten a delivery's day of retries. Fan-out gets at most half of the run: deliveries
 * and retries go on whatever the backlog of new events.
 */
export async function runWebhooks(
  asOf: Date,
  options: { deadline?: number; dryRun?: boolean; policy?: UrlPolicy; clock?: () => Date } = {},
): Promise<WebhookRun> {
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const policy = options.policy ?? urlPolicy();
  const clock = options.clock ?? (() => new Date());
  const run: WebhookRun = {
    asOf: asOf.toISOString(),
    fannedOut: 0,
    delivered: 0,
    retried: 0,
    failed: 0,
    cancelled: 0,
    complete: true,
  };
  const endpoints = await allEndpoints();
  const halfway = Number.isFinite(deadline) ? Date.now() + (deadline - Date.now()) / 2 : deadline;
  const fanned = await fanOut(endpoints, asOf, clock, halfway, run, options.dryRun === true);
  if (options.dryRun) return { ...run, complete: fanned };
  const delivered = await deliverDue(endpoints, asOf, clock, deadline, run, policy);
  return { ...run, complete: fanned && delivered };
}

async function fanOut(
  endpoints: WebhookEndpoint[],
  asOf: Date,
  clock: () => Date,
  deadline: number,
  run: WebhookRun,
  dryRun: boolean,
): Promise<boolean> {
  const cursor = await readCursor();
  const floor = `evt_${encodeTime(Math.max(0, Date.now() - LOOKBACK_MS), 10)}`;
  if (endpoints.length === 0) {
    // Nothing to fan out to: the cursor follows the clock, so a first endpoint does not
    // start with the outbox's past.
    if (!dryRun && (cursor === undefined || cursor < floor)) await saveCursor(floor);
    return true;
  }
  const start = cursor === undefined ? floor : lookbackFrom(cursor);
  let through = cursor;
  for await (const events of outboxFrom(start)) {
    if (Date.now() > deadline) return false;
    const pairs = events.flatMap((event) =>
      endpoints.filter((e) => subscribes(e, event)).map((endpoint) => ({ endpoint, event })),
    );
    // Those at or before the cursor were fanned out by an earlier run, unless their
    // transaction committed late: add only the missing ones.
    const old = pairs.filter((p) => cursor !== undefined && p.event.id <= cursor);
    const exists = await existingDeliveries(
      old.map((p) => ({ endpointId: p.endpoint.id, eventId: p.event.id })),
    );
    const missing = pairs.filter((p) => !exists.has(deliveryKeyString(p.endpoint.id, p.event.id)));
    if (!dryRun) {
      await inParallel(missing, PARALLEL, async ({ endpoint, event }) => {
        // Due at once (by asOf, if that is earlier: this run sends it); its day of
        // retries counts from now.
        const now = clock();
        const due = new Date(Math.min(now.getTime(), asOf.getTime())).toISOString();
        const added = await insertDelivery({
          id: newId('dlv', Date.now()),
          endpointId: endpoint.id,
          eventId: event.id,
          eventType: event.type,
          // The outbox's event as it is (eventOfItem: its fields only, in order).
          body: JSON.stringify(event),
          status: 'pending',
          attempts: 0,
          createdAt: now.toISOString(),
          deliverAt: due,
          nextAttemptAt: due,
        });
        if (added) run.fannedOut += 1;
      });
    } else run.fannedOut += missing.length;
    const last = events.at(-1)?.id;
    if (last !== undefined && (through === undefined || last > through)) through = last;
    if (!dryRun && through !== undefined) await saveCursor(through);
  }
  return true;
}

/**
 * Where a run re-reads from: LOOKBACK_MS before the cursor's time. The cursor is an event's
 * id (a ULID), or the bare time prefix a run with no endpoint saves: only its time is read.
 */
const lookbackFrom = (cursor: string) =>
  `evt_${encodeTime(Math.max(0, decodeTime(ulidTime(cursor).padEnd(26, '0')) - LOOKBACK_MS), 10)}`;

async function deliverDue(
  endpoints: WebhookEndpoint[],
  asOf: Date,
  clock: () => Date,
  deadline: number,
  run: WebhookRun,
  policy: UrlPolicy,
): Promise<boolean> {
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  // Per endpoint in this run: sends in flight, and timeouts in a row.
  const inFlight = new Map<string, number>();
  const timeouts = new Map<string, number>();
  let complete = true;
  const pages = dueDeliveries(asOf.toISOString(), 100, Math.floor(Math.random() * 4));
  for (;;) {
    if (Date.now() > deadline) return false;
    // Up to CHUNK due deliveries from across the shards, round robin over the endpoints,
    // sent PARALLEL at a time: one endpoint's backlog or slowness does not hold up others.
    const chunk: { endpointId: string; eventId: string; deliverAt: string }[] = [];
    let ended = false;
    while (chunk.length < CHUNK) {
      const next = await pages.next();
      if (next.done) {
        ended = true;
        break;
      }
      chunk.push(...next.value);
    }
    const order = roundRobin(chunk, (d) => d.endpointId);
    await inParallel(order, PARALLEL, async (d) => {
      // An attempt may take DELIVERY_TIMEOUT_MS: none starts that can outlast the run.
      if (Date.now() + DELIVERY_TIMEOUT_MS > deadline) {
        complete = false;
        return;
      }
      // At most PER_ENDPOINT sends to one endpoint at a time; after a timeout, one at a
      // time probes it; after TIMEOUTS_TO_SKIP in a row its deliveries wait for the next
      // run (still due). The other endpoints go on meanwhile.
      const skip = () => (timeouts.get(d.endpointId) ?? 0) >= TIMEOUTS_TO_SKIP;
      const limit = () => ((timeouts.get(d.endpointId) ?? 0) > 0 ? 1 : PER_ENDPOINT);
      while (!skip() && (inFlight.get(d.endpointId) ?? 0) >= limit()) {
        await new Promise((done) => setTimeout(done, 20));
      }
      if (skip()) return;
      if (Date.now() + DELIVERY_TIMEOUT_MS > deadline) {
        complete = false;
        return;
      }
      inFlight.set(d.endpointId, (inFlight.get(d.endpointId) ?? 0) + 1);
      try {
        const outcome = await attempt(d, byId, clock, run, policy);
        if (outcome === 'timeout')
          timeouts.set(d.endpointId, (timeouts.get(d.endpointId) ?? 0) + 1);
        else if (outcome !== 'skipped') timeouts.set(d.endpointId, 0);
      } catch (error) {
        // Its claim lapses and the next run tries again; this run goes on with the others.
        console.error('loyalty: webhook delivery failed:', (error as Error).message);
      } finally {
        inFlight.set(d.endpointId, (inFlight.get(d.endpointId) ?? 1) - 1);
      }
    });
    if (ended) return complete;
  }
}

/** Due deliveries taken at once, across shards and endpoints. */
const CHUNK = 400;

/** `items` interleaved by `key`: one of each, then the second of each... */
function roundRobin<T>(items: T[], key: (item: T) => string): T[] {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  const out: T[] = [];
  for (let i = 0; out.length < items.length; i++) {
    for (const group of groups.values()) if (i < group.length) out.push(group[i] as T);
  }
  return out;
}

/** One attempt at a due delivery: claimed, sent, its outcome recorded. */
async function attempt(
  d: { endpointId: string; eventId: string; deliverAt: string },
  endpoints: Map<string, WebhookEndpoint>,
  clock: () => Date,
  run: WebhookRun,
  policy: UrlPolicy,
): Promise<'delivered' | 'failed' | 'timeout' | 'skipped'> {
  const claimedAt = clock().getTime();
  const lease = new Date(Math.max(claimedAt, Date.parse(d.deliverAt)) + LEASE_MS).toISOString();
  const claimed = await claimDelivery(d.endpointId, d.eventId, d.deliverAt, lease);
  if (!claimed) return 'skipped';
  const endpoint = endpoints.get(d.endpointId) ?? (await getEndpoint(d.endpointId));
  const at = new Date(claimedAt).toISOString();
  const kept = expiresAfterLog(claimedAt);
  if (!endpoint) {
    // Deleted by its owner: nothing is wrong with a receiver, so no failure (and no alarm).
    if (await cancelDelivery(claimed, lease, kept)) run.cancelled += 1;
    return 'skipped';
  }
  let sent: Awaited<ReturnType<typeof sendWebhook>>;
  try {
    sent = await sendWebhook(
      endpoint.url,
      await signedRequest(endpoint, claimed.eventId, claimed.body, claimedAt),
      { ...policy, timeoutMs: DELIVERY_TIMEOUT_MS },
    );
  } catch (error) {
    // Signing failed (the key unusable, a secret that does not open): an attempt that
    // failed, on the same schedule, so it ends as `failed` rather than looping.
    console.error('loyalty: webhook signing failed:', (error as Error).message);
    sent = { error: 'the delivery could not be signed', durationMs: 0 };
  }
  if (isOk(sent.statusCode)) {
    const recorded = await recordAttempt(claimed, lease, {
      status: 'delivered',
      at,
      statusCode: sent.statusCode as number,
      expiresAt: kept,
    });
    if (recorded) run.delivered += 1;
    return 'delivered';
  }
  const next = nextAttemptAfter(claimed.attempts + 1, claimedAt, Date.parse(claimed.createdAt));
  const recorded = await recordAttempt(claimed, lease, {
    status: next === undefined ? 'failed' : 'pending',
    at,
    ...(sent.statusCode !== undefined && { statusCode: sent.statusCode }),
    error: sent.error ?? `answered ${sent.statusCode}`,
    ...(next !== undefined ? { nextAttemptAt: new Date(next).toISOString() } : { expiresAt: kept }),
  });
  if (recorded) {
    if (next === undefined) run.failed += 1;
    else run.retried += 1;
  }
  return sent.error === 'timeout' ? 'timeout' : 'failed';
}

/** When a finished delivery leaves the log (epoch seconds, the table's TTL attribute). */
export const expiresAfterLog = (at: number) => Math.floor(at / 1000) + LOG_DAYS * 86_400;
