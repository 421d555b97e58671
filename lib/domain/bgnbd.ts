/**
 * The BG/NBD customer-base model (Fader, Hardie & Lee 2005, "Counting your customers the
 * easy way"). While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
 * after each purchase they drop out with probability p ~ Beta(a, b).
 *
 * Times (tx, T, t) and α share one unit (e.g. weeks): λ is purchases per that unit.
 * Pure and dependency-free.
 */

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** x = repeat purchases, tx = time of the last one (0 when x = 0), T = age; one time unit. */
export interface CustomerSummary {
  x: number;
  tx: number;
  T: number;
}

export interface FitOptions {
  /** Starting point; all ones by default. */
  initial?: BgNbdParams;
  /** Nelder-Mead iterations allowed per run (there are two runs). */
  maxIterations?: number;
  /** Stop when the simplex spans less than this in every log-parameter... */
  xTolerance?: number;
  /** ...and the negative log-likelihood differs by less than this (relative) across it. */
  fTolerance?: number;
}

export interface FitResult {
  params: BgNbdParams;
  logLikelihood: number;
  /** Nelder-Mead iterations over both runs. */
  iterations: number;
  /** Whether both runs met the tolerances before running out of iterations. */
  converged: boolean;
}

const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(z) for z > 0 by the Lanczos approximation (g = 7, 9 terms), with the reflection
 * Γ(z)Γ(1-z) = π / sin(πz) below 0.5. Absolute error about 1e-14. NaN for z <= 0.
 */
export function lnGamma(z: number): number {
  if (!(z > 0)) return Number.NaN;
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const w = z - 1;
  let sum = LANCZOS_COEFFICIENTS[0] as number;
  for (let i = 1; i < LANCZOS_COEFFICIENTS.length; i++) {
    sum += (LANCZOS_COEFFICIENTS[i] as number) / (w + i);
  }
  const t = w + LANCZOS_G + 0.5;
  return HALF_LN_2PI + (w + 0.5) * Math.log(t) - t + Math.log(sum);
}

const HYP2F1_MAX_TERMS = 1_000_000;

/**
 * Gaussian hypergeometric ₂F₁(a, b; c; z) = Σₙ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ by its power
 * series, for |z| < 1. Sums until the estimated rest of the series is under 1e-12 of the sum.
 * c may be any real that is not 0 or a negative integer (then ₂F₁ is undefined unless the
 * series stops first). Throws RangeError for |z| >= 1 or if the series does not settle.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(Math.abs(z) < 1)) throw new RangeError(`hyp2f1 needs |z| < 1, got ${z}`);
  let term = 1;
  let sum = 1;
  for (let n = 0; n < HYP2F1_MAX_TERMS; n++) {
    if (term === 0) return sum;
    if (c + n === 0) throw new RangeError(`hyp2f1 is undefined for c = ${c}`);
    const ratio = (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    term *= ratio;
    sum += term;
    // The tail after this term is about |term| q / (1 - q), q the larger of this ratio and
    // its limit |z| (ratios tend to z monotonically), so stop once that is below 1e-12.
    const q = Math.max(Math.abs(ratio), Math.abs(z));
    if (q < 1 && (Math.abs(term) * q) / (1 - q) <= 1e-12 * Math.abs(sum)) return sum;
  }
  throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge`);
}

/** ln(e^u + e^v) without overflow. */
function logSumExp(u: number, v: number): number {
  const max = Math.max(u, v);
  if (max === Number.NEGATIVE_INFINITY) return max;
  return max + Math.log(Math.exp(u - max) + Math.exp(v - max));
}

interface CustomerGroup extends CustomerSummary {
  count: number;
}

/** Identical (x, tx, T) triples share one likelihood term, weighted by how many there are. */
function groupCustomers(customers: readonly CustomerSummary[]): CustomerGroup[] {
  const groups = new Map<string, CustomerGroup>();
  for (const { x, tx, T } of customers) {
    const key = `${x}|${tx}|${T}`;
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { x, tx, T, count: 1 });
  }
  return [...groups.values()];
}

/**
 * ln L of one customer (FHL 2005 eq. 6) is A1 + A2 + ln(e^A3 + δ(x>0) e^A4), with
 * A1 = lnΓ(r+x) - lnΓ(r) + r ln α, A2 = lnΓ(a+b) + lnΓ(b+x) - lnΓ(b) - lnΓ(a+b+x),
 * A3 = -(r+x) ln(α+T), A4 = ln a - ln(b+x-1) - (r+x) ln(α+tx).
 *
 * Σ count x ln L over the groups. The Gamma-function parts (A1, A2 and ln(b+x-1)) depend
 * on x only, so they are computed once per distinct x, not once per group: the fit's cost
 * is then a few logarithms per group.
 */
function groupsLogLikelihood(params: BgNbdParams, groups: readonly CustomerGroup[]): number {
  const { r, alpha, a, b } = params;
  const byX = new Map<number, { a12: number; lnB: number }>();
  const base = -lnGamma(r) + r * Math.log(alpha) + lnGamma(a + b) - lnGamma(b);
  let total = 0;
  for (const { x, tx, T, count } of groups) {
    let terms = byX.get(x);
    if (!terms) {
      terms = {
        a12: base + lnGamma(r + x) + lnGamma(b + x) - lnGamma(a + b + x),
        lnB: x > 0 ? Math.log(a) - Math.log(b + x - 1) : 0,
      };
      byX.set(x, terms);
    }
    const a3 = -(r + x) * Math.log(alpha + T);
    const value = x === 0 ? a3 : logSumExp(a3, terms.lnB - (r + x) * Math.log(alpha + tx));
    total += count * (terms.a12 + value);
  }
  return total;
}

/** Σ ln L over the customers (FHL 2005 eq. 6); NaN if a parameter is not positive. */
export function logLikelihood(params: BgNbdParams, customers: readonly CustomerSummary[]): number {
  return groupsLogLikelihood(params, groupCustomers(customers));
}

type Vector = number[];

interface NelderMeadResult {
  point: Vector;
  value: number;
  iterations: number;
  converged: boolean;
}

interface NelderMeadOptions {
  maxIterations: number;
  xTolerance: number;
  fTolerance: number;
  step: number;
}

/** from + s (to - from), element-wise. */
function along(from: Vector, to: Vector, s: number): Vector {
  return from.map((f, i) => f + s * ((to[i] as number) - f));
}

function centroid(points: readonly Vector[]): Vector {
  const sum = (points[0] as Vector).map(() => 0);
  for (const p of points) {
    for (let i = 0; i < p.length; i++) sum[i] = (sum[i] as number) + (p[i] as number);
  }
  return sum.map((v) => v / points.length);
}

function simplexConverged(
  simplex: readonly Vector[],
  values: readonly number[],
  options: NelderMeadOptions,
): boolean {
  const best = simplex[0] as Vector;
  const best0 = values[0] as number;
  const fSpread = Math.abs((values[values.length - 1] as number) - best0);
  if (fSpread > options.fTolerance * (Math.abs(best0) + options.fTolerance)) return false;
  return simplex.every((p) =>
    p.every((v, i) => Math.abs(v - (best[i] as number)) <= options.xTolerance),
  );
}

/**
 * Minimises f by Nelder-Mead (reflection 1, expansion 2, contraction 0.5, shrink 0.5) from
 * `start` with an initial simplex of `step` along each axis. Non-finite values count as +∞.
 */
function nelderMead(
  f: (p: Vector) => number,
  start: Vector,
  options: NelderMeadOptions,
): NelderMeadResult {
  const g = (p: Vector) => {
    const v = f(p);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let simplex: Vector[] = [
    start,
    ...start.map((_, i) => start.map((v, j) => v + (i === j ? options.step : 0))),
  ];
  let values = simplex.map(g);
  let iterations = 0;
  const sort = () => {
    const order = values
      .map((_, i) => i)
      .sort((i, j) => (values[i] as number) - (values[j] as number));
    simplex = order.map((i) => simplex[i] as Vector);
    values = order.map((i) => values[i] as number);
  };
  sort();
  while (iterations < options.maxIterations && !simplexConverged(simplex, values, options)) {
    iterations++;
    nelderMeadStep(g, simplex, values);
    sort();
  }
  return {
    point: simplex[0] as Vector,
    value: values[0] as number,
    iterations,
    converged: simplexConverged(simplex, values, options),
  };
}

/** One Nelder-Mead move on a simplex sorted best first; updates simplex and values in place. */
function nelderMeadStep(g: (p: Vector) => number, simplex: Vector[], values: number[]): void {
  const n = simplex.length - 1;
  const worst = simplex[n] as Vector;
  const fBest = values[0] as number;
  const fWorst = values[n] as number;
  const fSecond = values[n - 1] as number;
  const c = centroid(simplex.slice(0, n));
  const replace = (p: Vector, v: number) => {
    simplex[n] = p;
    values[n] = v;
  };
  const reflected = along(c, worst, -1);
  const fr = g(reflected);
  if (fr < fBest) {
    const expanded = along(c, worst, -2);
    const fe = g(expanded);
    if (fe < fr) replace(expanded, fe);
    else replace(reflected, fr);
    return;
  }
  if (fr < fSecond) {
    replace(reflected, fr);
    return;
  }
  const contracted = fr < fWorst ? along(c, reflected, 0.5) : along(c, worst, 0.5);
  const fc = g(contracted);
  if (fc < Math.min(fr, fWorst)) {
    replace(contracted, fc);
    return;
  }
  for (let i = 1; i <= n; i++) {
    simplex[i] = along(simplex[0] as Vector, simplex[i] as Vector, 0.5);
    values[i] = g(simplex[i] as Vector);
  }
}

const toLogs = ({ r, alpha, a, b }: BgNbdParams): Vector => [r, alpha, a, b].map(Math.log);

/** The fit keeps each parameter between e^-12 and e^12 (about 6e-6 to 1.6e5). */
const MAX_LOG = 12;

function fromLogs(logs: Vector): BgNbdParams {
  const [r, alpha, a, b] = logs.map(Math.exp) as [number, number, number, number];
  return { r, alpha, a, b };
}

/**
 * Maximum-likelihood fit of (r, α, a, b): Nelder-Mead on their logs (so they stay
 * positive) minimising -ln L, then once more from the best point with a fresh simplex.
 * Deterministic. α comes out in the customers' time unit.
 */
export function fitBgNbd(
  customers: readonly CustomerSummary[],
  options: FitOptions = {},
): FitResult {
  const groups = groupCustomers(customers);
  // Parameters stay within e^±MAX_LOG: beyond it the data say only "no dropout" (a, b
  // grow without bound), and chasing that costs thousands of iterations for nothing.
  const objective = (logs: Vector) =>
    logs.some((v) => Math.abs(v) > MAX_LOG)
      ? Number.POSITIVE_INFINITY
      : -groupsLogLikelihood(fromLogs(logs), groups);
  const settings: NelderMeadOptions = {
    maxIterations: options.maxIterations ?? 5000,
    xTolerance: options.xTolerance ?? 1e-9,
    fTolerance: options.fTolerance ?? 1e-13,
    step: 0.5,
  };
  const start = toLogs(options.initial ?? { r: 1, alpha: 1, a: 1, b: 1 });
  const first = nelderMead(objective, start, settings);
  const second = nelderMead(objective, first.point, { ...settings, step: 0.1 });
  const best = second.value <= first.value ? second : first;
  return {
    params: fromLogs(best.point),
    logLikelihood: -best.value,
    iterations: first.iterations + second.iterations,
    converged: first.converged && second.converged,
  };
}

/**
 * ln of the odds that a customer with x > 0 has dropped out rather than being alive:
 * ln[a / (b+x-1)] + (r+x) ln[(α+T) / (α+tx)].
 */
function logDeadOdds({ r, alpha, a, b }: BgNbdParams, { x, tx, T }: CustomerSummary): number {
  return Math.log(a / (b + x - 1)) + (r + x) * Math.log((alpha + T) / (alpha + tx));
}

/**
 * P(alive at T | x, tx, T) = 1 / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+tx))^(r+x))
 * (FHL 2005 eq. 11); 1 when x = 0, since customers only drop out right after a purchase.
 */
export function pAlive(params: BgNbdParams, c: CustomerSummary): number {
  if (c.x === 0) return 1;
  return 1 / (1 + Math.exp(logDeadOdds(params, c)));
}

/**
 * E[Y(t) | x, tx, T], the expected purchases in (T, T+t] (FHL 2005 eq. 10):
 * (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x-1; t/(α+T+t))] · P(alive).
 * t is in the same unit as T. Ill-conditioned when a is very close to 1 (a 0/0 limit).
 */
export function expectedPurchases(params: BgNbdParams, c: CustomerSummary, t: number): number {
  if (t === 0) return 0;
  const { r, alpha, a, b } = params;
  const { x, T } = c;
  const z = t / (alpha + T + t);
  const f = hyp2f1(r + x, b + x, a + b + x - 1, z);
  const discounted = Math.exp((r + x) * Math.log1p(-z)) * f;
  return ((a + b + x - 1) / (a - 1)) * (1 - discounted) * pAlive(params, c);
}

/**
 * P(no purchase in (T, T+t] | x, tx, T): the customer has dropped out, or is alive and
 * buys nothing in t. Alive customers drop out only right after a purchase, so "alive and
 * no purchase" has the gamma-Poisson probability ((α+T)/(α+T+t))^(r+x).
 * churnRisk = 1 - P(at least one purchase in t) = this.
 */
export function pNoPurchase(params: BgNbdParams, c: CustomerSummary, t: number): number {
  const { r, alpha } = params;
  const alive = pAlive(params, c);
  const none = Math.exp((r + c.x) * Math.log((alpha + c.T) / (alpha + c.T + t)));
  return 1 - alive * (1 - none);
}
