/**
 * Webhook endpoints (the README's "Webhooks"): those an admin subscribes, listed, read,
 * deleted, their secrets rotated, pinged, their delivery log. The delivery of events to
 * them, and the signing a ping shares with it, are webhookDelivery.ts's.
 */
import { DomainError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Page } from '../store/pagination.ts';
import { AGAIN, optimistic } from '../store/transactions.ts';
import {
  allEndpoints,
  type Delivery,
  deleteEndpoint as deleteStoredEndpoint,
  getEndpoint,
  insertDelivery,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  replaceSecrets,
  type SealedSecret,
  type WebhookEndpoint,
} from '../store/webhooks.ts';
import { sealSecret } from '../webhooks/secrets.ts';
import { newWebhookSecret } from '../webhooks/signature.ts';
import { checkWebhookUrlResolved, sendWebhook, type UrlPolicy } from '../webhooks/url.ts';
import {
  DELIVERY_TIMEOUT_MS,
  expiresAfterLog,
  inForce,
  isOk,
  signedRequest,
  urlPolicy,
} from './webhookDelivery.ts';

/** The old secret keeps signing this long after a rotation. */
export const OLD_SECRET_MS = 24 * 3_600_000;
/** Endpoints a programme may have. */
export const MAX_ENDPOINTS = 50;
/** Secrets an endpoint keeps: the current one and those still signing after rotations. */
const MAX_SECRETS = 5;

const view = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  ...(e.description !== undefined && { description: e.description }),
  status: e.status,
  createdAt: e.createdAt,
});

/**
 * Refuses a URL that breaks the rules, or whose name resolves to a refused address (each
 * delivery checks again: a name may point elsewhere later).
 */
async function checkUrl(raw: string, policy: UrlPolicy): Promise<string> {
  const checked = await checkWebhookUrlResolved(raw, policy);
  if (!checked.ok) throw badUrl(checked.message);
  return checked.url.toString();
}

const badUrl = (message: string) =>
  new DomainError('validation-failed', 'The webhook URL is not allowed', {
    errors: [{ path: 'url', message }],
  });

export async function createEndpoint(
  input: { url: string; events: string[]; description?: string | undefined },
  now = new Date(),
  policy = urlPolicy(),
) {
  const url = await checkUrl(input.url, policy);
  // Each run reads every endpoint and fans each event out to each: a bounded number.
  // (Two creations at once may both pass at the limit: a soft cap.)
  if ((await allEndpoints()).length >= MAX_ENDPOINTS) {
    throw new DomainError(
      'conflict',
      `A programme has at most ${MAX_ENDPOINTS} webhook endpoints: delete one first`,
    );
  }
  const id = newId('whe', now.getTime());
  const secret = newWebhookSecret();
  const endpoint: WebhookEndpoint = {
    id,
    url,
    events: [...new Set(input.events)].sort(),
    ...(input.description !== undefined && { description: input.description }),
    status: 'enabled',
    createdAt: now.toISOString(),
    secrets: [{ sealed: await sealSecret(secret, id), createdAt: now.toISOString() }],
  };
  await insertEndpoint(endpoint);
  return { ...view(endpoint), secret };
}

export async function listWebhookEndpoints(limit: number, cursor: string | undefined) {
  const page = await listEndpoints(limit, cursor);
  return { items: page.items.map(view), nextCursor: page.nextCursor };
}

async function endpointOr404(id: string): Promise<WebhookEndpoint> {
  const endpoint = await getEndpoint(id);
  if (!endpoint) throw new DomainError('not-found', 'No such webhook endpoint');
  return endpoint;
}

export async function readEndpoint(id: string) {
  return view(await endpointOr404(id));
}

export async function removeEndpoint(id: string): Promise<void> {
  if (!(await deleteStoredEndpoint(id))) {
    throw new DomainError('not-found', 'No such webhook endpoint');
  }
}

/**
 * A new secret signs from now on; the one in use keeps signing for OLD_SECRET_MS, and so do
 * those rotated out before it, each until its own time (at most MAX_SECRETS in all).
 */
export async function rotateSecret(id: string, now = new Date()): Promise<{ secret: string }> {
  return optimistic(
    async () => {
      const endpoint = await endpointOr404(id);
      const until = new Date(now.getTime() + OLD_SECRET_MS).toISOString();
      const secret = newWebhookSecret();
      const secrets: SealedSecret[] = [
        { sealed: await sealSecret(secret, id), createdAt: now.toISOString() },
        ...inForce(endpoint.secrets, now.getTime()).map((s) => ({ ...s, until: s.until ?? until })),
      ].slice(0, MAX_SECRETS);
      // Refused when another change came between: read again.
      return (await replaceSecrets(id, endpoint.secrets, secrets)) ? { secret } : AGAIN;
    },
    {
      attempts: 5,
      wait: false,
      conflicts: false,
      exhausted: () =>
        new DomainError('conflict', 'The endpoint kept changing while rotating: try again'),
    },
  );
}

/** `POST /v1/webhook-endpoints/{id}/test`: a `ping` now, logged, not retried. */
export async function pingEndpoint(id: string, now = new Date(), policy = urlPolicy()) {
  const endpoint = await endpointOr404(id);
  const event = {
    id: newId('evt', now.getTime()),
    type: 'ping',
    at: now.toISOString(),
    customerId: null,
    data: { endpointId: id },
  };
  const body = JSON.stringify(event);
  const sent = await sendWebhook(
    endpoint.url,
    await signedRequest(endpoint, event.id, body, now.getTime()),
    {
      ...policy,
      timeoutMs: DELIVERY_TIMEOUT_MS,
    },
  );
  const delivered = isOk(sent.statusCode);
  await insertDelivery({
    id: newId('dlv', now.getTime()),
    endpointId: id,
    eventId: event.id,
    eventType: 'ping',
    body,
    status: delivered ? 'delivered' : 'failed',
    attempts: 1,
    createdAt: now.toISOString(),
    lastAttemptAt: now.toISOString(),
    expiresAt: expiresAfterLog(now.getTime()),
    ...(sent.statusCode !== undefined && { lastStatusCode: sent.statusCode }),
    ...(sent.error !== undefined && !delivered && { lastError: sent.error }),
  });
  return { delivered, ...(sent.statusCode !== undefined && { statusCode: sent.statusCode }) };
}

export async function listEndpointDeliveries(
  id: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<ReturnType<typeof deliveryView>>> {
  await endpointOr404(id);
  const page = await listDeliveries(id, limit, cursor);
  return { items: page.items.map(deliveryView), nextCursor: page.nextCursor };
}

/** A delivery as the delivery log lists it. */
export function deliveryView(d: Delivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastAttemptAt: d.lastAttemptAt ?? null,
    ...(d.lastStatusCode !== undefined && { lastStatusCode: d.lastStatusCode }),
    ...(d.lastError !== undefined && { lastError: d.lastError }),
    ...(d.status === 'pending' &&
      d.nextAttemptAt !== undefined && { nextAttemptAt: d.nextAttemptAt }),
    createdAt: d.createdAt,
  };
}
