/**
 * How the console writes the API's figures. No DOM here: the browser tests format what they
 * expect with these same functions, so "the page shows what the API said" is exact.
 * `locale` undefined is the browser's own.
 */

export interface Money {
  /** Integer minor units, as the API sends them. */
  amount: number;
  currency: string;
}

const digitsByCurrency = new Map<string, number>();

/** How many minor-unit digits a currency has (2 for USD, 0 for JPY, 3 for KWD). */
export function minorDigits(currency: string): number {
  let digits = digitsByCurrency.get(currency);
  if (digits === undefined) {
    digits =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    digitsByCurrency.set(currency, digits);
  }
  return digits;
}

/**
 * Minor units as an exact decimal string ("-1234.05"): by string, not by dividing a float,
 * so 10^12 minor units come out exactly.
 */
export function minorToDecimal(amount: number, currency: string): `${number}` {
  const digits = minorDigits(currency);
  const sign = amount < 0 ? '-' : '';
  const whole = Math.abs(Math.trunc(amount))
    .toString()
    .padStart(digits + 1, '0');
  if (digits === 0) return `${sign}${whole}` as `${number}`;
  return `${sign}${whole.slice(0, -digits)}.${whole.slice(-digits)}` as `${number}`;
}

/** 123456 USD -> "$1,234.56" (en-US). */
export function formatMoney(money: Money, locale?: string): string {
  const digits = minorDigits(money.currency);
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: money.currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minorToDecimal(money.amount, money.currency));
}

/** A short money figure for a chart's axis: "$1.2K". */
export function formatMoneyShort(major: number, currency: string, locale?: string): string {
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency,
    notation: 'compact',
    maximumFractionDigits: 1,
  }).format(major);
}

/**
 * A decimal the merchant typed ("12.5", "12.50") as minor units of `currency`, or undefined
 * when it is not a plain non-negative amount with at most the currency's digits.
 */
export function decimalToMinor(text: string, currency: string): number | undefined {
  const digits = minorDigits(currency);
  const match = /^(\d{1,13})(?:\.(\d*))?$/.exec(text.trim());
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  const minor = Number(`${match[1]}${fraction.padEnd(digits, '0')}`);
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** Points, grouped: "12,345". */
export function formatPoints(points: number, locale?: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(points);
}

/** Signed points for the ledger: "+500", "−120". */
export function formatSignedPoints(points: number, locale?: string): string {
  return new Intl.NumberFormat(locale, {
    maximumFractionDigits: 0,
    signDisplay: 'exceptZero',
  }).format(points);
}

/** A plain count or measure: "1,234", "12.5". */
export function formatNumber(value: number, locale?: string, fractionDigits = 1): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: fractionDigits }).format(value);
}

/** A probability as a percentage: 0.934 -> "93%". */
export function formatPercent(probability: number, locale?: string): string {
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(
    probability,
  );
}

/** Days, "12.5 days" / "1 day". */
export function formatDays(days: number, locale?: string): string {
  return `${formatNumber(days, locale)} ${days === 1 ? 'day' : 'days'}`;
}

/** The UTC day of an RFC 3339 instant, "2026-11-29": what the API's days are. */
export const utcDay = (instant: string): string => new Date(instant).toISOString().slice(0, 10);

/** The UTC day and minute of an instant, "2026-11-29 14:05 UTC". */
export const utcMinute = (instant: string): string =>
  `${new Date(instant).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * A ledger entry's purchase as a merchant knows it: "Purchase at High street, receipt
 * R-42" (a refund: "Refund of the purchase at ..."); the purchase id where the entry has
 * no store (entries written before entries carried it).
 */
export function purchaseLabel(
  entry: { type: string; purchaseId?: string; storeId?: string; receiptId?: string },
  storeName: string | undefined,
): string {
  const what = entry.type === 'refund' ? 'Refund of the purchase' : 'Purchase';
  if (entry.storeId === undefined) return `${what} ${entry.purchaseId ?? ''}`.trim();
  const receipt = entry.receiptId === undefined ? '' : `, receipt ${entry.receiptId}`;
  return `${what} at ${storeName ?? entry.storeId}${receipt}`;
}

/** What a merchant calls each lapse reason the API records. */
export const REASON_LABELS = {
  price: 'Price',
  quality: 'Quality',
  service: 'Service',
  competitor: 'Went to a competitor',
  complaint: 'Complaint',
  moved: 'Moved away',
  closed: 'Closed down',
  other: 'Other',
} as const;

export type LapseReason = keyof typeof REASON_LABELS;

/** A reason key of the retention report's byReason (`unknown`: none recorded) as a label. */
export const reasonLabel = (reason: string): string =>
  reason in REASON_LABELS ? REASON_LABELS[reason as LapseReason] : 'Not recorded';

/** What the call list reads of GET /v1/reports/lapse-quality (the LapseQuality schema). */
export interface FlagQuality {
  asOf: string | null;
  horizonDays: number;
  evaluated: number;
  flag: { precision: number | null; recall: number | null };
  insufficientData?: string | undefined;
}

/**
 * How often the lapse flag has been right on the programme's own customers, in one plain
 * sentence (the lapse-quality report): of the customers it would have flagged `horizonDays` ago,
 * the share who did not come back (precision), and of all who did not, the share it found
 * (recall), whole percents. When the report cannot say, why; undefined when it has nothing.
 */
export function flagQualitySentence(report: FlagQuality, locale?: string): string | undefined {
  const ago = `${formatDays(report.horizonDays, locale)} ago`;
  if (report.insufficientData !== undefined) {
    const why = report.insufficientData.trim().replace(/\.$/, '');
    return `The flag's accuracy can't be measured yet: ${why}.`;
  }
  const { precision, recall } = report.flag;
  if (precision === null) {
    if (report.asOf === null) return undefined;
    // Nobody flagged at the cut-off (recall 0: some left, none were called): nothing to be
    // right or wrong about. Both null: thresholds set since the last run, not measured yet.
    return recall === 0
      ? `The flag would have called nobody ${ago}, so its accuracy can't be measured yet.`
      : "The flag's current thresholds have not been measured yet: the nightly lapse scan measures them.";
  }
  const found =
    recall === null ? '' : ` (it finds ${formatPercent(recall, locale)} of those who left)`;
  const on = `${formatPoints(report.evaluated, locale)} ${report.evaluated === 1 ? 'customer' : 'customers'}`;
  const measured =
    report.asOf === null ? `Measured on ${on}.` : `Measured ${utcDay(report.asOf)} on ${on}.`;
  return (
    `Of the customers this flag would have called ${ago}, ` +
    `${formatPercent(precision, locale)} did not come back${found}. ${measured}`
  );
}
