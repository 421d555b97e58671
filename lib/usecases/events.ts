import type { DomainEvent } from '../domain/ledger.ts';
import { eventPage } from '../store/events.ts';
import type { Page } from '../store/pagination.ts';

/** The outbox, oldest first: tier changes (and, with lapse detection, lapses). */
export function listEvents(limit: number, cursor: string | undefined): Promise<Page<DomainEvent>> {
  return eventPage(limit, cursor);
}
