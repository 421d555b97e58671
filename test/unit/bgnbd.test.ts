import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BgNbdParams,
  type CustomerSummary,
  expectedPurchases,
  fitBgNbd,
  hyp2f1,
  lnGamma,
  logLikelihood,
  pAlive,
  pNoPurchase,
} from '../../lib/domain/bgnbd.ts';

/** CDNOW calibration summary, 39 weeks (see test/fixtures/README.md). */
function loadCdnow(): CustomerSummary[] {
  const text = readFileSync(
    new URL('../fixtures/cdnow_customers_summary.csv', import.meta.url),
    'utf8',
  );
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [, x, tx, T] = line.split(',').map(Number) as [number, number, number, number];
      return { x, tx, T };
    });
}

const customers = loadCdnow();

/** Fader, Hardie & Lee (2005), table 1 / the lifetimes docs. */
const published: BgNbdParams = { r: 0.2426, alpha: 4.4135, a: 0.7929, b: 2.4258 };
const publishedLogLikelihood = -9582.4;

const customer1: CustomerSummary = { x: 2, tx: 30.43, T: 38.86 };

/**
 * E[Y(t) | x, tx, T] straight from the model, independently of eq. 10: integrate λ out in
 * closed form (Gamma prior), then p numerically (Beta prior) by the midpoint rule on
 * p = u^(1/a), which absorbs the p^(a-1) singularity. For given λ, p and alive at T,
 * E[Y(t)] = (1 - e^(-λpt)) / p.
 */
function expectedPurchasesByQuadrature(
  { r, alpha, a, b }: BgNbdParams,
  { x, tx, T }: CustomerSummary,
  t: number,
  steps = 200_000,
): number {
  const k = r + x;
  const deadWeight = x > 0 ? ((alpha + T) / (alpha + tx)) ** k : 0;
  let numerator = 0;
  let denominator = 0;
  for (let i = 0; i < steps; i++) {
    const p = ((i + 0.5) / steps) ** (1 / a);
    const prior = (1 - p) ** (b - 1);
    const aliveLikelihood = (1 - p) ** x;
    const boughtAfter = -Math.expm1(-k * Math.log1p((p * t) / (alpha + T))) / p;
    numerator += aliveLikelihood * boughtAfter * prior;
    const deadLikelihood = x > 0 ? p * (1 - p) ** (x - 1) * deadWeight : 0;
    denominator += (aliveLikelihood + deadLikelihood) * prior;
  }
  return numerator / denominator;
}

describe('lnGamma', () => {
  it('matches known values', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 13);
    expect(lnGamma(2)).toBeCloseTo(0, 13);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(lnGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
    expect(lnGamma(100)).toBeCloseTo(359.1342053695754, 10);
  });

  it('is NaN outside z > 0', () => {
    expect(lnGamma(0)).toBeNaN();
    expect(lnGamma(-1.5)).toBeNaN();
  });
});

describe('hyp2f1', () => {
  it('matches 2F1(1, 1; 2; z) = -ln(1 - z) / z', () => {
    for (const z of [-0.5, 0.01, 0.3, 0.7, 0.95, 0.999]) {
      const exact = -Math.log1p(-z) / z;
      expect(Math.abs(hyp2f1(1, 1, 2, z) - exact) / exact).toBeLessThan(1e-11);
    }
  });

  it('matches 2F1(a, b; b; z) = (1 - z)^(-a)', () => {
    for (const [a, b, z] of [
      [0.2426, 2.4258, 0.4],
      [2.5, 1.7, 0.8],
      [3, -0.6, 0.5],
      [2.2426, 4.4258, 0.99],
    ] as const) {
      const exact = (1 - z) ** -a;
      expect(Math.abs(hyp2f1(a, b, b, z) - exact) / exact).toBeLessThan(1e-11);
    }
  });

  it('is 1 at z = 0 and rejects |z| >= 1 and c = 0', () => {
    expect(hyp2f1(2, 3, 4, 0)).toBe(1);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 0, 0.5)).toThrow(RangeError);
  });
});

describe('logLikelihood', () => {
  it('is the published value at the published params', () => {
    expect(customers).toHaveLength(2357);
    const ll = logLikelihood(published, customers);
    expect(Math.abs(ll - publishedLogLikelihood)).toBeLessThan(0.5);
  });

  it('is lower away from the published params', () => {
    const ll = logLikelihood(published, customers);
    expect(logLikelihood({ ...published, r: 0.3 }, customers)).toBeLessThan(ll);
    expect(logLikelihood({ ...published, b: 2 }, customers)).toBeLessThan(ll);
  });
});

describe('fitBgNbd on CDNOW', () => {
  const fit = fitBgNbd(customers);

  it('recovers the published estimates', () => {
    expect(fit.converged).toBe(true);
    for (const key of ['r', 'alpha', 'a', 'b'] as const) {
      expect(Math.abs(fit.params[key] - published[key])).toBeLessThan(0.005);
    }
    expect(Math.abs(fit.logLikelihood - publishedLogLikelihood)).toBeLessThan(0.1);
    expect(fit.logLikelihood).toBeCloseTo(logLikelihood(fit.params, customers), 8);
  });

  it('is deterministic', () => {
    expect(fitBgNbd(customers)).toEqual(fit);
  });
});

describe('pAlive', () => {
  it('is about 0.727 for customer 1 at the published params', () => {
    expect(Math.abs(pAlive(published, customer1) - 0.727)).toBeLessThan(0.002);
  });

  it('is 1 without repeat purchases', () => {
    expect(pAlive(published, { x: 0, tx: 0, T: 38.86 })).toBe(1);
    expect(pAlive(published, { x: 0, tx: 0, T: 1000 })).toBe(1);
  });

  it('falls as the customer ages without buying', () => {
    const ages = [31, 38.86, 52, 104];
    const ps = ages.map((T) => pAlive(published, { ...customer1, T }));
    for (let i = 1; i < ps.length; i++) expect(ps[i]).toBeLessThan(ps[i - 1] as number);
  });
});

describe('expectedPurchases', () => {
  it('is 0 at t = 0 and increases with t', () => {
    expect(expectedPurchases(published, customer1, 0)).toBe(0);
    const values = [1, 5, 10, 39, 78, 200].map((t) => expectedPurchases(published, customer1, t));
    expect(values[0]).toBeGreaterThan(0);
    for (let i = 1; i < values.length; i++) {
      expect(values[i]).toBeGreaterThan(values[i - 1] as number);
    }
  });

  it('matches integrating the model numerically', () => {
    const cases: CustomerSummary[] = [
      customer1,
      { x: 0, tx: 0, T: 38.86 },
      { x: 1, tx: 1.71, T: 38.86 },
      { x: 10, tx: 35, T: 37 },
    ];
    for (const c of cases) {
      for (const t of [5, 39]) {
        const exact = expectedPurchases(published, c, t);
        const numeric = expectedPurchasesByQuadrature(published, c, t);
        expect(Math.abs(exact - numeric) / numeric).toBeLessThan(1e-6);
      }
    }
  });
});

describe('pNoPurchase (churnRisk)', () => {
  const params = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  const someone = { x: 2, tx: 30.43, T: 38.86 };
  it('is 1 over no time, falls with time, and tends to the chance the customer has gone', () => {
    expect(pNoPurchase(params, someone, 0)).toBeCloseTo(1, 12);
    let last = 1;
    for (const t of [1, 4, 13, 52, 520]) {
      const p = pNoPurchase(params, someone, t);
      expect(p).toBeLessThan(last);
      last = p;
    }
    expect(pNoPurchase(params, someone, 1e9)).toBeCloseTo(1 - pAlive(params, someone), 6);
  });
  it('for a customer alive for sure (no repeat yet), is the gamma-Poisson chance of no purchase', () => {
    const once = { x: 0, tx: 0, T: 20 };
    const t = 90 / 7;
    expect(pNoPurchase(params, once, t)).toBeCloseTo(
      ((params.alpha + once.T) / (params.alpha + once.T + t)) ** params.r,
      12,
    );
  });
  it('over a short time, 1 - it is about the expected purchases', () => {
    const t = 0.01;
    expect(1 - pNoPurchase(params, someone, t)).toBeCloseTo(
      expectedPurchases(params, someone, t),
      5,
    );
  });
});
