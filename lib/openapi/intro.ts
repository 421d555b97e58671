/** The document's introduction: the conventions, and the decisions taken where the contract is silent. */
import { MAX_JSON_DEPTH } from '../http/handler.ts';
import { IMPORT_BODY_BYTES, MAX_BODY_BYTES } from '../routes.ts';
import { IDEMPOTENCY_TTL_SECONDS, IN_FLIGHT_SECONDS } from '../store/idempotency.ts';

export const ttlHours = IDEMPOTENCY_TTL_SECONDS / 3600;

export const description = `Loyalty points, tiers and redemption for point-of-sale systems, mobile-app backends \
and partner retailers. This document is generated from the service's route table and from the \
schemas it validates requests with.

## Conventions

- JSON in and out. **Money** is \`{"amount": <integer minor units, 0..10^12>, "currency": "<ISO 4217>"}\`; \
a program has one currency and any other gets 422 \`currency-mismatch\`. Timestamps are RFC 3339 UTC. \
IDs are opaque strings.
- **Credentials**: an API key in \`x-api-key\`. Each operation lists the roles that may call it in \
\`x-roles\`; any other role gets 403 \`forbidden\`. A pos key is bound to one store and a partner key to \
one partner; another principal's resource answers 404 \`not-found\`, as if it did not exist.
- **Errors** are RFC 9457 problem details (\`application/problem+json\`) with \`type\` = \
\`urn:loyalty:problem:<code>\`, \`title\`, \`status\`, \`code\`, \`detail\`, \`instance\` (the path) and, \
for validation, \`errors: [{path, message}]\`. Branch on \`code\`. No 5xx for a client mistake.
- **Bodies**: over ${MAX_BODY_BYTES} bytes (64 KiB; ${IMPORT_BODY_BYTES} bytes, 1 MiB, on the import \
routes) get 413 \`payload-too-large\`; a body sent with a \
content type that is not JSON (\`application/json\` or \`*/*+json\`) gets 415 \`unsupported-media-type\` \
(a body without one is read as JSON); nesting deeper than ${MAX_JSON_DEPTH} levels, control characters in \
names and ids, and instants before 1970 or after 9999 get 400 \`validation-failed\`. A path id that \
cannot exist (over 64 characters, or not letters, digits, \`_\` and \`-\`) is 404 \`not-found\`.
- **Pagination**: \`?limit=\` 1..100 (default 25) and \`?cursor=\`, the previous page's \`nextCursor\` \
(opaque, valid only for the list that issued it, else 400). Pages are \`{"items": [...], "nextCursor": \
string | null}\`; \`nextCursor\` is null exactly on the last page.
- **Retries**: 503 \`service-unavailable\` (with \`Retry-After\`) is safe to retry; send the same \
\`Idempotency-Key\` again where the route takes one. In AWS, requests beyond the stage throttle get \
API Gateway's own 429 \`{"message":"Too Many Requests"}\`: retry those with backoff.
- **Reference**: this document is served at \`GET /v1/openapi.json\` and rendered as a page at \
\`GET /docs\`, both without a credential.

## Decisions where the contract is silent

**Idempotency** (\`Idempotency-Key\` on POST /v1/purchases; 1..255 printable ASCII characters, scoped \
to the calling API key):
- The idempotency record is written in the same transaction as the change it records, so a key is \
never "in progress": concurrent requests with one key all get the one result (201 once, then replays \
with \`Idempotent-Replayed: true\`). The import routes are the exception: a batch is many \
transactions, so its key is marked in flight while it runs (409 \`idempotency-key-in-use\` with \
\`Retry-After\` meanwhile; the mark lapses after ${IN_FLIGHT_SECONDS} s if the batch never finishes), and a \
batch run again skips what it recorded.
- Records are kept ${ttlHours} h.
- Only successful (2xx) results are stored. An error (validation, 404, 409 duplicate receipt, ...) \
stores nothing, so the same key can be retried after fixing the cause.
- Request identity = method + path + canonical JSON body: key order and whitespace do not matter. The \
same key with a different request gets 422 \`idempotency-key-reused\`.

**Purchases**:
- An admin key must name \`storeId\` (400 \`validation-failed\` otherwise); an unknown storeId is 404. \
A pos key sending another store's \`storeId\` gets 403 \`forbidden\`.
- With \`lines\`, each \`unitPrice\` must be in the program currency (422 \`currency-mismatch\`), and \
the lines' spend (quantity x unitPrice) may not exceed the total (400 on \`lines\`); the part of the total \
they do not cover (tax, fees) earns like any spend. Send lines net of any discount.

**Campaigns**:
- A campaign created or changed reaches every function within 30 s (campaigns are cached like the \
program); at once locally. At most 20 campaigns may run at any one instant, however long ago that \
instant (409 \`conflict\` beyond), so a purchase's reads and writes stay bounded. The campaigns not yet \
ended (running or scheduled) are kept together in one list of at most 300,000 bytes, about 1,000 \
campaigns without match lists (a match of 500 long SKUs takes some 35 KB): one that would outgrow it \
gets 409 \`conflict\` saying so. Ended campaigns count against no limit.
- \`startsAt\` defaults to now; \`endsAt\` null (or absent) runs until ended. A window may lie in the \
past. A purchase backdated or imported into a campaign's window earns by it however long ago the \
campaign ended (a promotion recreated today for an old history applies to that history).
- Campaign stats count what each campaign added: a purchase it added points to, a distinct customer, \
and the points; refunds do not take them back. A referral counts the first purchase that paid it, the \
referred customer, and both bonuses.
- A birthday more than 7 days past when the job first runs for it is passed over; 29 February is kept \
on 28 February in other years. An unknown \`referredBy\` at enrolment is 404 \`not-found\`.

**Customers**:
- Lookups (GET /v1/customers) take exactly one of \`email\`, \`phone\`, \`externalId\`, else 400. Emails \
compare case-insensitively (they are stored lowercased).
- \`cadence.typicalGapDays\` is the median gap between the most recent 24 distinct purchase days; \
\`pAlive\` and \`expectedPurchases90d\` come from the BG/NBD model the daily lapse scan fits (null before \
its first fit, and while it is not trusted: fitted on fewer than 500 customers with 2 or more \
purchase days or on less than 180 days of history). Points and tier are as of the request: pending points past \`availableAt\`, expired \
points and a due tier review are written (with their ledger entries) before the answer.
- The tier shown is the higher of the tier granted and the tier the current qualifying spend earns. \
Tiers go down only at a review, when the oldest month of spend leaves the window.

**API keys**:
- An unknown \`storeId\` or \`partnerId\` in POST /v1/api-keys: 404 \`not-found\`.
- DELETE /v1/api-keys/{id} on an already revoked key: 204 again (idempotent); an unknown id: 404.
- In AWS, a request with no \`x-api-key\` header at all is refused by API Gateway itself: 401 \
\`{"message":"Unauthorized"}\`, not problem+json, because the authorizer's cache is keyed on that \
header. Locally, and for any present-but-wrong key, the API answers 401 problem+json \`unauthorized\`.
- Revocation takes effect within the authorizer cache TTL (60 s by default), in AWS and locally alike.

**Program**: changes reach all functions within 30 s (each function caches the program).

**Unknown routes**: 404 \`not-found\`.
`;
