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
  type DueDelivery,
  deliveryKeyString,
  dueInLane,
  existingDeliveries,
  forgetGone,
  getEndpoint,
  goneEndpoints,
  insertDelivery,
  moveIntoLanes,
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
/**
 * Sends in flight at once in one run. A send mostly waits on its receiver, so many fit one
 * Lambda: 128 sockets is well within its 1,024 file descriptors, and at 100 ms a
 * receiver that is 1,000 sends a second, more than 100 events a second to a few endpoints.
 */
const PARALLEL = 128;
/**
 * ...and to one endpoint (its lane): all a slow receiver can hold of the run, so three of
 * them still leave a quarter of it to the others. 32 at 300 ms is 100 sends a second.
 */
const PER_ENDPOINT = 32;
/** Timeouts in a row after which a run leaves an endpoint's deliveries for the next run. */
const TIMEOUTS_TO_SKIP = 3;
/** Deliveries written at once by a fan-out. */
const FAN_OUT_PARALLEL = 64;
/** Events a fan-out takes at a time, checking its deadline between. */
const FAN_OUT_SLICE = 250;
/**
 * The fan-outs a run makes after its first (events that came while it delivered) re-read
 * only this far behind the cursor, not LOOKBACK_MS: the next run's first fan-out re-reads
 * the whole lookback, so a commit later than this is still caught, a minute later.
 */
const FOLLOW_UP_LOOKBACK_MS = 10_000;
/** A run's fan-outs after its second start at most this often (each re-reads the outbox). */
const FAN_OUT_EVERY_MS = 5_000;
/**
 * A deleted endpoint's marker stays this long after its lane is found empty: a run that
 * read the endpoints before the deletion may still add to the lane meanwhile.
 */
const GONE_KEPT_MS = 3_600_000;
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
 *
 * Under load (issue 27: 100 events a second, each to each endpoint) the run does not stop
 * at one batch: while events keep coming and time is left it fans out again and sends
 * again, so in AWS (a run a minute) a delivery's first attempt comes seconds after its
 * event, not a minute. Why a claim loop and not an SQS queue with a dead-letter queue:
 * the retries wait up to an hour (SQS delays at most 15 minutes), the delivery log and its
 * leases stay in DynamoDB either way, one queue would still put a slow endpoint's backlog
 * before the others' (isolation would take a queue per endpoint, made at run time), the
 * local runtime would need a queue of its own (different code from AWS), and the stack
 * is near CloudFormation's 500 resources. Here each endpoint has its own lane
 * (deliverDue) and the same code runs in both.
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
  const fanning = { endpoints, asOf, clock, run, seen: new Set<string>() };
  const fanned = await fanOut(fanning, halfway, LOOKBACK_MS, options.dryRun === true);
  if (options.dryRun) return { ...run, complete: fanned };
  await moveIntoLanes(new Set(endpoints.map((e) => e.id)), clock(), halfway);
  const lanes = await lanesOf(endpoints);
  let delivered = await deliverDue(lanes, asOf, clock, deadline, run, policy);
  // Events that came meanwhile, while there is time to send them: the first follow-up at
  // once (usually finding none, so a quiet run ends), the next ones FAN_OUT_EVERY_MS apart.
  const lastStart = deadline - DELIVERY_TIMEOUT_MS;
  for (let n = 0; fanned && delivered && Date.now() < lastStart; n++) {
    if (n > 0) await sleep(Math.min(FAN_OUT_EVERY_MS, lastStart - Date.now()));
    const before = run.fannedOut;
    if (!(await fanOut(fanning, lastStart, FOLLOW_UP_LOOKBACK_MS, false))) break;
    if (run.fannedOut === before) break;
    for (const lane of lanes) lane.drained = false;
    delivered = await deliverDue(lanes, asOf, clock, deadline, run, policy);
  }
  await forgetEmptyLanes(lanes, clock());
  return { ...run, complete: fanned && delivered };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, Math.max(0, ms)));

interface Fanning {
  endpoints: WebhookEndpoint[];
  asOf: Date;
  clock: () => Date;
  run: WebhookRun;
  /** Events this run has fanned out already: a follow-up neither adds nor checks them. */
  seen: Set<string>;
}

async function fanOut(
  { endpoints, asOf, clock, run, seen }: Fanning,
  deadline: number,
  lookbackMs: number,
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
  const start = cursor === undefined ? floor : lookbackFrom(cursor, lookbackMs);
  let through = cursor;
  for await (const read of outboxFrom(start)) {
    // A page (up to 1 MB: thousands of events) by slices, so a fan-out stops near its time.
    for (let i = 0; i < read.length; i += FAN_OUT_SLICE) {
      if (Date.now() > deadline) return false;
      const page = read.slice(i, i + FAN_OUT_SLICE);
      const events = page.filter((event) => !seen.has(event.id));
      const pairs = events.flatMap((event) =>
        endpoints.filter((e) => subscribes(e, event)).map((endpoint) => ({ endpoint, event })),
      );
      // Those at or before the cursor were fanned out by an earlier run, unless their
      // transaction committed late: add only the missing ones.
      const old = pairs.filter((p) => cursor !== undefined && p.event.id <= cursor);
      const exists = await existingDeliveries(
        old.map((p) => ({ endpointId: p.endpoint.id, eventId: p.event.id })),
      );
      const missing = pairs.filter(
        (p) => !exists.has(deliveryKeyString(p.endpoint.id, p.event.id)),
      );
      if (!dryRun) {
        await inParallel(missing, FAN_OUT_PARALLEL, async ({ endpoint, event }) => {
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
        for (const event of events) seen.add(event.id);
      } else run.fannedOut += missing.length;
      const last = page.at(-1)?.id;
      if (last !== undefined && (through === undefined || last > through)) through = last;
      if (!dryRun && through !== undefined) await saveCursor(through);
    }
  }
  return true;
}

/**
 * Where a run re-reads from: `lookbackMs` before the cursor's time. The cursor is an event's
 * id (a ULID), or the bare time prefix a run with no endpoint saves: only its time is read.
 */
const lookbackFrom = (cursor: string, lookbackMs: number) =>
  `evt_${encodeTime(Math.max(0, decodeTime(ulidTime(cursor).padEnd(26, '0')) - lookbackMs), 10)}`;

/**
 * One endpoint's deliveries in a run: its lane of the due index, what it has in flight,
 * and its timeouts in a row. A deleted endpoint's lane (no `endpoint`) is emptied by
 * cancelling, due or not.
 */
interface Lane {
  endpointId: string;
  endpoint?: WebhookEndpoint;
  /** When it was deleted (its GONE marker's time). */
  goneAt?: string;
  inFlight: number;
  timeouts: number;
  /** Event ids this run has taken from the lane: each is attempted at most once a run. */
  taken: Set<string>;
  /** Its due deliveries all read (until the run fans out again). */
  drained: boolean;
}

async function lanesOf(endpoints: WebhookEndpoint[]): Promise<Lane[]> {
  const lane = (endpointId: string) => ({
    endpointId,
    inFlight: 0,
    timeouts: 0,
    taken: new Set<string>(),
    drained: false,
  });
  const gone = await goneEndpoints();
  return [
    ...endpoints.map((endpoint) => ({ ...lane(endpoint.id), endpoint })),
    ...gone
      .filter((g) => !endpoints.some((e) => e.id === g.id))
      .map((g) => ({ ...lane(g.id), goneAt: g.at })),
  ];
}

/** A slow endpoint's lane after a timeout sends one at a time (a probe); after 3, none. */
const capOf = (lane: Lane) =>
  lane.endpoint === undefined ? PER_ENDPOINT : lane.timeouts > 0 ? 1 : PER_ENDPOINT;
const skipped = (lane: Lane) => lane.timeouts >= TIMEOUTS_TO_SKIP;

/** Deleted endpoints' lanes are read whole, due or not: nothing in them will be sent. */
const ALL_PENDING = '9999';

/**
 * Sends what is due by `asOf`, lane by lane, until every lane is read out or the run's
 * time is up: each endpoint up to PER_ENDPOINT sends at once, PARALLEL in all. An
 * endpoint at its cap is passed over, not waited on, and its lane is read no further than
 * it can send: a slow endpoint's backlog costs the others neither reads nor sends, and
 * their first attempts go as soon as a send of the run is free. Within a lane, the
 * longest due goes first (a first attempt is due from its event, a retry from its time).
 */
async function deliverDue(
  lanes: Lane[],
  asOf: Date,
  clock: () => Date,
  deadline: number,
  run: WebhookRun,
  policy: UrlPolicy,
): Promise<boolean> {
  const byId = new Map(lanes.flatMap((l) => (l.endpoint ? [[l.endpointId, l.endpoint]] : [])));
  const sending = new Set<Promise<void>>();
  const send = (lane: Lane, d: DueDelivery) => {
    lane.inFlight += 1;
    const sent: Promise<void> = attempt(d, byId, clock, run, policy)
      .then(
        (outcome) => {
          if (outcome === 'timeout') lane.timeouts += 1;
          else if (outcome !== 'skipped') lane.timeouts = 0;
        },
        (error) => {
          // Its claim lapses and the next run tries again; this run goes on with the others.
          console.error('loyalty: webhook delivery failed:', (error as Error).message);
        },
      )
      .finally(() => {
        lane.inFlight -= 1;
        sending.delete(sent);
      });
    sending.add(sent);
  };
  // An attempt may take DELIVERY_TIMEOUT_MS: none starts that can outlast the run.
  const timeLeft = () => Date.now() + DELIVERY_TIMEOUT_MS <= deadline;
  for (let turn = 0; timeLeft(); turn++) {
    let started = 0;
    // From a lane further on each turn, so when PARALLEL is the limit none always goes last.
    for (let k = 0; k < lanes.length && timeLeft(); k++) {
      const lane = lanes[(turn + k) % lanes.length] as Lane;
      const room = Math.min(capOf(lane) - lane.inFlight, PARALLEL - sending.size);
      if (lane.drained || skipped(lane) || room <= 0) continue;
      const bound = lane.endpoint ? asOf.toISOString() : ALL_PENDING;
      const due = await takeFromLane(lane, bound, room);
      for (const d of due) send(lane, d);
      started += due.length;
    }
    if (started > 0) continue;
    if (sending.size === 0) break;
    await Promise.race(sending);
  }
  await Promise.all(sending);
  // A lane left for its timeouts is not unfinished work: the next run takes it up.
  return lanes.every((lane) => lane.drained || skipped(lane));
}

/**
 * Up to `room` deliveries of the lane due by `bound` that this run has not taken yet. The
 * index lags its table a little, so a page may still show some taken; past them, the
 * next page. Reads the lane out (drained) when fewer are left.
 */
async function takeFromLane(lane: Lane, bound: string, room: number): Promise<DueDelivery[]> {
  const out: DueDelivery[] = [];
  for await (const page of dueInLane(lane.endpointId, bound, room + lane.inFlight + 8)) {
    for (const d of page) {
      if (out.length === room) return out;
      if (lane.taken.has(d.eventId)) continue;
      lane.taken.add(d.eventId);
      out.push(d);
    }
  }
  if (out.length < room) lane.drained = true;
  return out;
}

/**
 * Deleted endpoints' lanes read out, with nothing left, lose their markers once
 * GONE_KEPT_MS old (a run that read the endpoints before a deletion may add to one).
 */
async function forgetEmptyLanes(lanes: Lane[], now: Date): Promise<void> {
  for (const lane of lanes) {
    if (lane.goneAt === undefined || !lane.drained || lane.inFlight > 0) continue;
    if (now.getTime() - Date.parse(lane.goneAt) < GONE_KEPT_MS) continue;
    const left = await dueInLane(lane.endpointId, ALL_PENDING, 1).next();
    if (left.done || left.value.length === 0) await forgetGone(lane.endpointId, now);
  }
}

/** One attempt at a due delivery: claimed, sent, its outcome recorded. */
async function attempt(
  d: DueDelivery,
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
