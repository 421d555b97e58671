/**
 * `node test/eval/cdnowReturns.mjs [FILE] [--end YYYY-MM-DD] [--days N] [--factor F]
 *   [--min-days D] [--min-purchases P]`
 *
 * An independent count, from the raw CDNOW file alone, of the returns the lapse rule
 * finds in a window: written apart from the API's code (no import from lib/) so that the
 * test that compares the two (test/integration/cdnowRetention.test.ts) checks the API
 * against the rule, not against itself.
 *
 * The rule: a purchase is a return when the customer has at least P purchases before it,
 * it falls on a later day than the last of them, and the days between exceed
 * max(D, F x the median gap between the last 24 distinct days they bought on). Every
 * purchase is at noon, so days are whole. A return counts when its day is in the N days
 * ending with --end (both included: after --end minus N days), and so does its lapse, on the
 * day the rule started to hold (the last purchase + the threshold). Defaults: the API's
 * default thresholds (F 2, D 14, P 3) and the twelve months to 1998-07-01 (365 days),
 * the day after CDNOW's last purchase.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const file =
  args[0] && !args[0].startsWith('--') ? args[0] : '../shared/data/cdnow/CDNOW_master.txt';
const end = option('end', '1998-07-01');
const windowDays = Number(option('days', '365'));
const factor = Number(option('factor', '2'));
const minDays = Number(option('min-days', '14'));
const minPurchases = Number(option('min-purchases', '3'));

const DAY = 86_400_000;
/** Days since 1970-01-01 of "YYYYMMDD" or "YYYY-MM-DD". */
const dayNumber = (text) => {
  const digits = text.replaceAll('-', '');
  return (
    Date.UTC(
      Number(digits.slice(0, 4)),
      Number(digits.slice(4, 6)) - 1,
      Number(digits.slice(6, 8)),
    ) / DAY
  );
};
const lastDay = dayNumber(end);
const firstDay = lastDay - windowDays + 1;

// Each customer's purchase days, in the order of the file (by customer, then date).
const byCustomer = new Map();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const [id, date] = line.trim().split(/\s+/);
  if (!id || !/^\d{8}$/.test(date ?? '')) continue;
  if (!byCustomer.has(id)) byCustomer.set(id, []);
  byCustomer.get(id).push(dayNumber(date));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

let returns = 0;
let returnsInWindow = 0;
let lapsesInWindow = 0;
let customersBack = 0;
for (const days of byCustomer.values()) {
  days.sort((a, b) => a - b);
  let purchases = 0;
  const distinct = [];
  let cameBack = false;
  for (const day of days) {
    const last = distinct.at(-1);
    if (purchases >= minPurchases && day > last) {
      const kept = distinct.slice(-24);
      const gaps = kept.slice(1).map((d, i) => d - kept[i]);
      const gap = gaps.length > 0 ? median(gaps) : 0;
      const threshold = Math.max(minDays, factor * gap);
      if (day - last > threshold) {
        returns += 1;
        // The lapse began when the rule started to hold: the last purchase (noon) + threshold.
        const lapsedOn = Math.floor(last + 0.5 + threshold);
        if (lapsedOn >= firstDay && lapsedOn <= lastDay) lapsesInWindow += 1;
        if (day >= firstDay && day <= lastDay) {
          returnsInWindow += 1;
          cameBack = true;
        }
      }
    }
    purchases += 1;
    if (day !== last) distinct.push(day);
  }
  if (cameBack) customersBack += 1;
}

console.log(
  JSON.stringify({
    file,
    customers: byCustomer.size,
    rule: { factor, minDays, minPurchases },
    window: {
      from: new Date(firstDay * DAY).toISOString().slice(0, 10),
      to: new Date(lastDay * DAY).toISOString().slice(0, 10),
    },
    returns,
    returnsInWindow,
    lapsesInWindow,
    customersBackInWindow: customersBack,
  }),
);
