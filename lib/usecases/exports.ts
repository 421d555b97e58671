/**
 * Customers' data exports (POST /v1/customers/{id}/exports, POST /v1/me/exports, GET
 * /v1/exports/{id}, and the `exports` job). A request only records the export; the job
 * (every minute in AWS, every 2 s in npm start) writes its document, streamed into the
 * exports' sink (exports/sink.ts: the stack's bucket, or local files), and the status then
 * gives a link to it that lives an hour. Everything of an export goes 7 days after the request.
 */

import { notFound } from '../errors.ts';
import { documentName, exportSink } from '../exports/sinks.ts';
import { newId } from '../ids.ts';
import type { IdempotencyContext, Principal } from '../principal.ts';
import { getCustomer } from '../store/customers.ts';
import {
  type ClaimedExport,
  type CustomerExport,
  claimExport,
  dueExports,
  getExport,
  insertExport,
  releaseExport,
  settleExport,
} from '../store/exports.ts';
import { readReplay } from '../store/idempotency.ts';
import { type Answer, answered, refuseIfErased, replayed } from './change.ts';
import { indexCustomerEvents } from './eventIndex.ts';
import { exportDocument, OutOfTime } from './exportDocument.ts';
import { passReceiptGuards } from './receiptGuards.ts';

/** An export, its document and its link are kept this long after the request. */
export const EXPORT_KEPT_SECONDS = 7 * 24 * 3600;
/** A link to a document lives an hour (at most a day, contract section 14); GET again for another. */
export const EXPORT_LINK_SECONDS = 3600;
/** Runs that may take an export on before it is `failed`. */
export const EXPORT_ATTEMPTS = 3;
/** A run that failed leaves its export due again this much later. */
const RETRY_AFTER_MS = 60_000;
/** Exports one run takes on at most (each until the run's deadline). */
const PER_RUN = 10;

/** What the API answers about an export. */
export interface ExportView {
  id: string;
  status: CustomerExport['status'];
  url?: string;
  expiresAt?: string;
}

/**
 * Records an export of customer `customerId` requested by `principal`, to be written by the
 * exports job: 202 `{"id", "status": "running"}`. An unknown customer is 404.
 */
export async function requestExport(
  principal: Principal,
  customerId: string,
  idempotency: IdempotencyContext | undefined,
  now = new Date(),
): Promise<Answer<ExportView>> {
  if (idempotency) {
    const stored = await readReplay(idempotency, now);
    if (stored) return replayed(stored);
  }
  // A merged customer's export is its survivor's (and found by their erase); an erased
  // one has nothing left to export.
  const customer = await getCustomer(customerId);
  if (!customer) throw notFound('Customer');
  refuseIfErased(customer);
  const record: CustomerExport = {
    id: newId('exp', now.getTime()),
    customerId: customer.id,
    requestedBy: principal.keyId,
    status: 'running',
    createdAt: now.toISOString(),
    attempts: 0,
    expiresAt: Math.floor(now.getTime() / 1000) + EXPORT_KEPT_SECONDS,
  };
  const answer: ExportView = { id: record.id, status: 'running' };
  const saved = await insertExport(record, idempotency && { ctx: idempotency, answer }, now);
  if (saved === 'idempotency-key-taken' && idempotency) {
    const stored = await readReplay(idempotency, now);
    if (stored) return replayed(stored);
  }
  return answered(answer);
}

/**
 * An export's status, for the credential that requested it (anyone else: 404, as for an
 * export that does not exist); once ready, with a fresh link to its document.
 */
export async function exportStatus(
  principal: Principal,
  id: string,
  now = new Date(),
): Promise<ExportView> {
  const found = await getExport(id, now);
  if (!found || found.requestedBy !== principal.keyId) throw notFound('Export');
  if (found.status !== 'ready' || found.document === undefined) {
    return { id: found.id, status: found.status };
  }
  const expiresAt = new Date(
    Math.min(now.getTime() + EXPORT_LINK_SECONDS * 1000, found.expiresAt * 1000),
  );
  const url = await exportSink().link(found.document, expiresAt, now);
  return { id: found.id, status: 'ready', url, expiresAt: expiresAt.toISOString() };
}

/** Writes one claimed export's document; what became of it. */
async function writeExport(
  e: ClaimedExport,
  asOf: Date,
  deadline: number,
): Promise<'ready' | 'failed' | 'retry' | 'out-of-time' | 'gone'> {
  const sink = exportSink();
  const name = documentName(e.id);
  const checkpoint = () => {
    if (Date.now() > deadline) throw new OutOfTime();
  };
  try {
    const bytes = await sink.write(name, exportDocument(e.id, e.customerId, asOf, checkpoint));
    const settled = await settleExport(e, {
      status: 'ready',
      at: new Date(),
      document: name,
      bytes,
    });
    if (settled) return 'ready';
    // Deleted meanwhile (an erase), or taken over: what was written must not stay.
    await sink.remove(name);
    return 'gone';
  } catch (error) {
    if (error instanceof OutOfTime) {
      await releaseExport(e, asOf, { uncount: true });
      return 'out-of-time';
    }
    if (e.attempts >= EXPORT_ATTEMPTS) {
      await settleExport(e, { status: 'failed', at: new Date() });
      return 'failed';
    }
    await releaseExport(e, new Date(Date.now() + RETRY_AFTER_MS));
    return 'retry';
  }
}

/**
 * The `exports` job: writes the documents of the exports due at `asOf` (oldest first), each
 * claimed until the run's deadline so no other run writes it meanwhile. One that cannot be
 * finished before the deadline is left due for the next run (which starts it again); one
 * that fails is tried again a minute later, and is `failed` after 3 attempts.
 */
export async function runExports(
  asOf: Date,
  options: { deadline: number; dryRun?: boolean },
): Promise<{
  asOf: string;
  exported: number;
  failed: number;
  complete: boolean;
}> {
  const counts = { exported: 0, failed: 0 };
  // Once: events from before the customer-event index get their place in it.
  if (!options.dryRun) await indexCustomerEvents(options.deadline);
  // Once: receipts recorded before a purchase was its own guard get a guard under its key.
  if (!options.dryRun) await passReceiptGuards({ deadline: options.deadline });
  const due = await dueExports(asOf, PER_RUN);
  if (options.dryRun) {
    return { asOf: asOf.toISOString(), exported: due.length, failed: 0, complete: true };
  }
  let complete = due.length < PER_RUN;
  for (const candidate of due) {
    if (Date.now() > options.deadline) {
      complete = false;
      break;
    }
    // The lease outlasts the run by a minute, so no other run starts it while this one may.
    const e = await claimExport(candidate, new Date(options.deadline + 60_000));
    if (!e) continue;
    const outcome = await writeExport(e, asOf, options.deadline);
    if (outcome === 'ready') counts.exported += 1;
    if (outcome === 'failed') counts.failed += 1;
    if (outcome === 'out-of-time') complete = false;
  }
  return { asOf: asOf.toISOString(), ...counts, complete };
}
