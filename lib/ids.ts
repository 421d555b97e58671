import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

export type IdPrefix =
  | 'cus'
  | 'pur'
  | 'led'
  | 'sto'
  | 'ptn'
  | 'key'
  | 'red'
  | 'ref'
  | 'evt'
  | 'cmp'
  | 'whe'
  | 'dlv'
  | 'exp';

/** ULID-based ids with a type prefix: sortable by creation time, opaque to clients. */
export const newId = (prefix: IdPrefix, now = Date.now()) => `${prefix}_${nextUlid(now)}`;

/** What an id can look like; a path id of any other shape names nothing (404). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
