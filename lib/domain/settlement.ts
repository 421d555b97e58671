/**
 * A partner's settlement over [from, to) is read from running totals kept per UTC day,
 * hour and minute (each capture adds to the three it falls in), plus the captures
 * themselves in the partial minutes at either end. The range is cut so that each piece
 * is whole units of one size: days in the middle, then hours, then minutes towards the
 * ends. However many captures there are, a range reads at most SETTLEMENT_MAX_DAYS days,
 * 2 x 23 hours and 2 x 59 minutes of totals, and the captures of two partial minutes (none
 * when `from` and `to` are whole minutes, as a day's or a month's settlement is).
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A settlement covers at most this many days (366: a leap year). */
export const SETTLEMENT_MAX_DAYS = 366;
export const SETTLEMENT_MAX_MS = SETTLEMENT_MAX_DAYS * DAY_MS;

export type TotalsLevel = 'D' | 'H' | 'M';

interface LevelSpec {
  level: TotalsLevel;
  ms: number;
  /** The bucket is this many characters of the ISO instant: `2024-05-06T07:08`. */
  chars: number;
}

/** Coarsest first: the order a range is cut in. */
const LEVELS: readonly LevelSpec[] = [
  { level: 'D', ms: DAY_MS, chars: 10 },
  { level: 'H', ms: HOUR_MS, chars: 13 },
  { level: 'M', ms: MINUTE_MS, chars: 16 },
];

/** One piece of a range: whole units of totals at `level`, or (no level) captures. */
export interface SettlementPiece {
  level?: TotalsLevel;
  /** Epoch ms, from inclusive, to exclusive. */
  from: number;
  to: number;
}

/** The bucket (UTC day, hour or minute) an instant falls in at `level`: `2024-05-06T07`. */
export function bucketOf(level: TotalsLevel, at: number | string): string {
  const spec = LEVELS.find((l) => l.level === level) as LevelSpec;
  return new Date(at).toISOString().slice(0, spec.chars);
}

/** The buckets a capture at `at` adds to, one per level. */
export const bucketsOf = (at: string): { level: TotalsLevel; bucket: string }[] =>
  LEVELS.map(({ level }) => ({ level, bucket: bucketOf(level, at) }));

/**
 * [from, to) cut into whole units of the coarsest level that fits, the rest at either end
 * cut the same way with the next level, down to the captures of partial minutes. Epoch
 * ms count no leap seconds, so multiples of a day are UTC midnights.
 */
export function settlementPieces(from: number, to: number, depth = 0): SettlementPiece[] {
  if (from >= to) return [];
  const spec = LEVELS[depth];
  if (!spec) return [{ from, to }];
  const first = Math.ceil(from / spec.ms) * spec.ms;
  const last = Math.floor(to / spec.ms) * spec.ms;
  // Within one unit: the next level cuts it. Across a boundary with no whole unit (first
  // equals last), each side is cut on its own, so each end stays within one unit.
  if (first > last) return settlementPieces(from, to, depth + 1);
  return [
    ...settlementPieces(from, first, depth + 1),
    ...(first < last ? [{ level: spec.level, from: first, to: last }] : []),
    ...settlementPieces(last, to, depth + 1),
  ];
}

/** The first and last bucket of a piece of totals (both included). */
export function bucketRange(piece: SettlementPiece & { level: TotalsLevel }) {
  const spec = LEVELS.find((l) => l.level === piece.level) as LevelSpec;
  return {
    first: bucketOf(piece.level, piece.from),
    last: bucketOf(piece.level, piece.to - spec.ms),
  };
}
