/**
 * `npm run eval:lapse -- --data FILE`
 *
 * How well do the lapse rule and the BG/NBD model predict who comes back, on real data?
 * FILE is the CDNOW master file (public: shipped with the MIT-licensed `lifetimes` Python
 * library as lifetimes/datasets/CDNOW_master.txt): rows `customer_id YYYYMMDD cds dollars`.
 *
 * Calibration = weeks 0-39 from 1997-01-01 (ends 1997-10-01T00:00Z, exclusive); holdout =
 * the next 39 weeks. Each customer's cadence is built from their calibration purchases
 * (one addPurchaseDay per row, at 00:00 UTC) and scored at the end of calibration; the
 * outcome is "came back" = at least one purchase in the holdout. Prints AUCs of four
 * scores, precision/recall of the contract's lapse flag and a 90-day rule for "did not
 * come back", a table of alternative flags, and as its last line one JSON object.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BgNbdParams, expectedPurchases, fitBgNbd, pAlive } from '../../lib/domain/bgnbd.ts';
import {
  addPurchaseDay,
  type Cadence,
  lapseDueAt,
  typicalGapDays,
} from '../../lib/domain/cadence.ts';
import { summaryOf } from '../../lib/domain/model.ts';
import { defaultProgram, type Program } from '../../lib/domain/program.ts';

const USAGE =
  'usage: npm run eval:lapse -- --data <CDNOW_master.txt> (the public CDNOW master file ' +
  'shipped with the MIT-licensed `lifetimes` Python library, lifetimes/datasets/CDNOW_master.txt)';

function usageError(problem: string): never {
  console.error(`eval:lapse: ${problem}. ${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------- arguments and data

let dataPath: string | undefined;
try {
  dataPath = parseArgs({ options: { data: { type: 'string' } }, strict: true }).values.data;
} catch (error) {
  usageError(error instanceof Error ? error.message : String(error));
}
if (!dataPath) usageError('--data is required');

let text: string;
try {
  text = readFileSync(dataPath, 'utf8');
} catch (error) {
  usageError(`cannot read ${dataPath} (${(error as NodeJS.ErrnoException).code ?? error})`);
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const START = Date.UTC(1997, 0, 1);
const CAL_END = START + 39 * WEEK_MS; // 1997-10-01T00:00Z, exclusive
const HOLDOUT_END = CAL_END + 39 * WEEK_MS; // 1998-07-01T00:00Z, exclusive
const HOLDOUT_WEEKS = 39;
const asOf = new Date(CAL_END);

interface Raw {
  calibration: number[]; // purchase times (ms), one per row
  cameBack: boolean;
}

const raw = new Map<string, Raw>();
let rows = 0;
let skipped = 0;
for (const line of text.split('\n')) {
  const fields = line.trim().split(/\s+/);
  if (fields.length < 2 || !/^\d{8}$/.test(fields[1] as string)) {
    if (line.trim() !== '' && !/customer_id/i.test(line)) skipped++; // not the header: unparseable
    continue;
  }
  const id = fields[0] as string;
  const d = fields[1] as string;
  const at = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)));
  rows++;
  let c = raw.get(id);
  if (!c) {
    c = { calibration: [], cameBack: false };
    raw.set(id, c);
  }
  if (at >= START && at < CAL_END) c.calibration.push(at);
  else if (at >= CAL_END && at < HOLDOUT_END) c.cameBack = true;
}
if (rows === 0) usageError(`no purchase rows found in ${dataPath}`);

// ---------------------------------------------------------------- per customer

interface Customer {
  purchases: number; // calibration rows
  cadence: Cadence;
  lastPurchaseAt: string;
  silenceDays: number;
  gapDays: number | null;
  summary: { x: number; tx: number; T: number };
  cameBack: boolean;
}

const customers: Customer[] = [];
let noCalibration = 0;
for (const c of raw.values()) {
  if (c.calibration.length === 0) {
    noCalibration++;
    continue;
  }
  let cadence: Cadence | undefined;
  for (const at of c.calibration) cadence = addPurchaseDay(cadence, new Date(at));
  const last = Math.max(...c.calibration);
  customers.push({
    purchases: c.calibration.length,
    cadence: cadence as Cadence,
    lastPurchaseAt: new Date(last).toISOString(),
    silenceDays: (CAL_END - last) / DAY_MS,
    gapDays: typicalGapDays(cadence),
    summary: summaryOf(cadence, asOf) as Customer['summary'],
    cameBack: c.cameBack,
  });
}

const t0 = performance.now();
const fit = fitBgNbd(customers.map((c) => c.summary));
const fitSeconds = (performance.now() - t0) / 1000;
const params: BgNbdParams = fit.params;

const minDays = defaultProgram.lapse.minDays;
const scored = customers.map((c) => ({
  ...c,
  ratio: c.silenceDays / (c.gapDays ?? minDays),
  pAlive: pAlive(params, c.summary),
  expected: expectedPurchases(params, c.summary, HOLDOUT_WEEKS),
}));
type Scored = (typeof scored)[number];

// ---------------------------------------------------------------- metrics

/** AUC by the Mann-Whitney rank formula, ties counted 1/2. Higher score = positive. */
function auc(scores: readonly number[], positive: readonly boolean[]): number {
  const order = scores
    .map((_, i) => i)
    .sort((i, j) => (scores[i] as number) - (scores[j] as number));
  let rankSumPos = 0;
  let nPos = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    const value = scores[order[start] as number];
    while (end < order.length && scores[order[end] as number] === value) end++;
    const averageRank = (start + 1 + end) / 2; // ranks start+1 .. end
    for (let k = start; k < end; k++) {
      if (positive[order[k] as number]) {
        rankSumPos += averageRank;
        nPos++;
      }
    }
    start = end;
  }
  const nNeg = order.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

interface FlagResult {
  flagged: number;
  precision: number;
  recall: number;
}

/** Precision and recall of a flag for "did not come back". */
function flagStats(group: readonly Scored[], flag: (c: Scored) => boolean): FlagResult {
  let flagged = 0;
  let truePositive = 0;
  let lost = 0;
  for (const c of group) {
    const f = flag(c);
    if (f) flagged++;
    if (!c.cameBack) {
      lost++;
      if (f) truePositive++;
    }
  }
  return {
    flagged,
    precision: flagged === 0 ? Number.NaN : truePositive / flagged,
    recall: lost === 0 ? Number.NaN : truePositive / lost,
  };
}

const lapseProgram = (lapse: Partial<Program['lapse']>): Program => ({
  ...defaultProgram,
  lapse: { ...defaultProgram.lapse, ...lapse },
});

/** The contract's flag at asOf: lapsed iff lapseDueAt is defined and before asOf. */
const lapsedUnder = (program: Program) => (c: Scored) => {
  const due = lapseDueAt(c.purchases, c.lastPurchaseAt, c.cadence, program);
  return due !== undefined && Date.parse(due) < CAL_END;
};
const silentFor = (days: number) => (c: Scored) => c.silenceDays > days;
const pAliveBelow = (threshold: number) => (c: Scored) => c.pAlive < threshold;

function evaluate(group: readonly Scored[]) {
  const came = group.map((c) => c.cameBack);
  return {
    n: group.length,
    cameBack: group.filter((c) => c.cameBack).length / group.length,
    auc: {
      silence: auc(
        group.map((c) => -c.silenceDays),
        came,
      ),
      ratio: auc(
        group.map((c) => -c.ratio),
        came,
      ),
      pAlive: auc(
        group.map((c) => c.pAlive),
        came,
      ),
      expected: auc(
        group.map((c) => c.expected),
        came,
      ),
    },
    lapseFlag: flagStats(group, lapsedUnder(defaultProgram)),
    silent90: flagStats(group, silentFor(90)),
  };
}

const groups = {
  all: scored,
  repeat3: scored.filter((c) => c.cadence.dayCount >= 3),
};
const results = { all: evaluate(groups.all), repeat3: evaluate(groups.repeat3) };

const variants: [string, (c: Scored) => boolean][] = [
  ['lapse factor 2 (contract)', lapsedUnder(defaultProgram)],
  ['lapse factor 3', lapsedUnder(lapseProgram({ factor: 3 }))],
  ['lapse factor 4', lapsedUnder(lapseProgram({ factor: 4 }))],
  ['lapse factor 6', lapsedUnder(lapseProgram({ factor: 6 }))],
  ['lapse factor 2, minDays 90', lapsedUnder(lapseProgram({ minDays: 90 }))],
  ['lapse factor 3, minDays 60', lapsedUnder(lapseProgram({ factor: 3, minDays: 60 }))],
  ['lapse factor 2, 90 d, min 1', lapsedUnder(lapseProgram({ minDays: 90, minPurchases: 1 }))],
  ['no purchase in 60 days', silentFor(60)],
  ['no purchase in 90 days', silentFor(90)],
  ['no purchase in 120 days', silentFor(120)],
  ['pAlive < 0.3', pAliveBelow(0.3)],
  ['pAlive < 0.5', pAliveBelow(0.5)],
  ['pAlive < 0.7', pAliveBelow(0.7)],
  ['E[purchases, 39 wk] < 0.5', (c) => c.expected < 0.5],
  ['E[purchases, 39 wk] < 1', (c) => c.expected < 1],
];
const variantResults = variants.map(([name, flag]) => ({
  name,
  all: flagStats(groups.all, flag),
  repeat3: flagStats(groups.repeat3, flag),
}));

// ---------------------------------------------------------------- output

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const f3 = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(3));
const pad = (s: string, width: number) => s.padStart(width);

const p = params;
console.log(
  `CDNOW: ${rows} purchase rows, ${raw.size} customers (${customers.length} with a calibration` +
    ` purchase${noCalibration ? `, ${noCalibration} without: left out` : ''}` +
    `${skipped ? `; ${skipped} unparsed lines` : ''}).`,
);
console.log(
  `Calibration 1997-01-01 .. ${asOf.toISOString().slice(0, 10)} (39 weeks, exclusive), holdout` +
    ` .. ${new Date(HOLDOUT_END).toISOString().slice(0, 10)} (39 weeks, exclusive); scored at` +
    ` ${asOf.toISOString()}.`,
);
console.log(
  `BG/NBD fit (weeks) on ${customers.length} calibration summaries: r=${p.r.toFixed(4)}` +
    ` alpha=${p.alpha.toFixed(4)} a=${p.a.toFixed(4)} b=${p.b.toFixed(4)}` +
    ` LL=${fit.logLikelihood.toFixed(1)} (${fit.iterations} iterations,` +
    ` ${fit.converged ? 'converged' : 'NOT converged'}, ${fitSeconds.toFixed(1)} s)`,
);
console.log('');

const columns = [
  ['all customers', results.all],
  ['>= 3 purchase days', results.repeat3],
] as const;
const line = (label: string, cell: (r: ReturnType<typeof evaluate>) => string) =>
  console.log(`  ${label.padEnd(44)}${columns.map(([, r]) => pad(cell(r), 20)).join('')}`);

console.log(`  ${''.padEnd(44)}${columns.map(([name]) => pad(name, 20)).join('')}`);
line('customers (n)', (r) => String(r.n));
line('share that came back in the holdout', (r) => f3(r.cameBack));
line('AUC, predicting "came back":', () => '');
line('  -days of silence', (r) => f3(r.auc.silence));
line('  -silence / typical gap (lapse ratio)', (r) => f3(r.auc.ratio));
line('  BG/NBD pAlive', (r) => f3(r.auc.pAlive));
line('  BG/NBD expected purchases, 39 weeks', (r) => f3(r.auc.expected));
line('Flags for "did not come back":', () => '');
const flagLines = (key: 'lapseFlag' | 'silent90', label: string) => {
  line(`  ${label}: flagged`, (r) => String(r[key].flagged));
  line('    precision', (r) => f3(r[key].precision));
  line('    recall', (r) => f3(r[key].recall));
};
flagLines('lapseFlag', 'lapse rule (factor 2, min 3, 14 d)');
flagLines('silent90', 'no purchase in the last 90 days');
console.log('');
console.log(
  '  The lapse rule never flags customers with fewer than 3 purchases (minPurchases), so over',
);
console.log(
  '  all customers its recall is bounded by the share of non-returners with 3+ purchases.',
);
console.log('  Precision to beat = share that did not come back (flagging everyone).');
console.log('');

console.log('Alternative flags for "did not come back" (precision / recall, flagged):');
console.log(`  ${'flag'.padEnd(30)}${pad('all customers', 28)}${pad('>= 3 purchase days', 28)}`);
const cell = (s: FlagResult) =>
  `${f3(s.precision)} / ${f3(s.recall)}  ${pad(String(s.flagged), 6)}`;
for (const v of variantResults) {
  console.log(`  ${v.name.padEnd(30)}${pad(cell(v.all), 28)}${pad(cell(v.repeat3), 28)}`);
}
console.log('');

const roundFlag = (s: FlagResult) => ({
  flagged: s.flagged,
  precision: round(s.precision, 4),
  recall: round(s.recall, 4),
});
const roundGroup = (r: ReturnType<typeof evaluate>) => ({
  n: r.n,
  cameBack: round(r.cameBack, 4),
  auc: {
    silence: round(r.auc.silence, 4),
    ratio: round(r.auc.ratio, 4),
    pAlive: round(r.auc.pAlive, 4),
    expected: round(r.auc.expected, 4),
  },
  lapseFlag: roundFlag(r.lapseFlag),
  silent90: roundFlag(r.silent90),
});
console.log(
  JSON.stringify({
    customers: customers.length,
    rows,
    fit: {
      r: round(p.r, 4),
      alpha: round(p.alpha, 4),
      a: round(p.a, 4),
      b: round(p.b, 4),
      logLikelihood: round(fit.logLikelihood, 1),
      converged: fit.converged,
    },
    all: roundGroup(results.all),
    repeat3: roundGroup(results.repeat3),
    variants: variantResults.map((v) => ({
      name: v.name,
      all: roundFlag(v.all),
      repeat3: roundFlag(v.repeat3),
    })),
  }),
);
