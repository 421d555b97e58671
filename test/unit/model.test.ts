import { describe, expect, it } from 'vitest';
import { expectedPurchases, pAlive, pNoPurchase } from '../../lib/domain/bgnbd.ts';
import { addPurchaseDay, type Cadence } from '../../lib/domain/cadence.ts';
import {
  MODEL_TRUST,
  type ModelParams,
  modelScores,
  modelTrusted,
  summaryOf,
} from '../../lib/domain/model.ts';

const DAY = 86_400_000;
const asOf = new Date(Date.UTC(2026, 5, 1, 12));

/** The CDNOW fit (Fader, Hardie & Lee 2005), as if the lapse scan had fitted it. */
const params = { r: 0.2426, alpha: 4.4135, a: 0.7929, b: 2.4258 };
const model = (stats: { repeatCustomers?: number; historyDays?: number }): ModelParams => ({
  ...params,
  logLikelihood: -9582.4,
  customers: 2357,
  fittedAt: asOf.toISOString(),
  ...stats,
});
const trusted = model({ repeatCustomers: 500, historyDays: 180 });

/** Purchases 100, 70, 40 and 30 days before asOf. */
const cadence = [100, 70, 40, 30].reduce<Cadence | undefined>(
  (c, d) => addPurchaseDay(c, new Date(asOf.getTime() - d * DAY)),
  undefined,
) as Cadence;

const NONE = { pAlive: null, expectedPurchases90d: null, churnRisk: null };

describe('modelScores (the model is shown only when trusted)', () => {
  it('scores a customer with a trusted model: 500 repeat customers and 180 days, exactly', () => {
    expect(modelTrusted(trusted)).toBe(true);
    const summary = summaryOf(cadence, asOf);
    expect(summary).toEqual({ x: 3, tx: 70 / 7, T: 100 / 7 });
    const scores = modelScores({ cadence }, trusted, asOf);
    const s = summary as NonNullable<typeof summary>;
    expect(scores.pAlive).toBeCloseTo(pAlive(params, s), 4);
    expect(scores.expectedPurchases90d).toBeCloseTo(expectedPurchases(params, s, 90 / 7), 3);
    expect(scores.churnRisk).toBeCloseTo(pNoPurchase(params, s, 90 / 7), 4);
    for (const value of Object.values(scores)) expect(value).not.toBeNull();
  });

  it('gives pAlive, expectedPurchases90d and churnRisk all null while the model is not trusted', () => {
    const untrusted = [
      model({ repeatCustomers: MODEL_TRUST.minRepeatCustomers - 1, historyDays: 400 }),
      model({ repeatCustomers: 9_000, historyDays: MODEL_TRUST.minHistoryDays - 1 }),
      model({ repeatCustomers: 499, historyDays: 179 }),
      // Fitted before the fit kept its repeat customers and history.
      model({}),
      model({ repeatCustomers: 9_000 }),
      model({ historyDays: 400 }),
    ];
    for (const m of untrusted) {
      expect(modelTrusted(m)).toBe(false);
      expect(modelScores({ cadence }, m, asOf), JSON.stringify(m)).toEqual(NONE);
    }
  });

  it('gives all null without a model or without a purchase', () => {
    expect(modelScores({ cadence }, undefined, asOf)).toEqual(NONE);
    expect(modelScores({}, trusted, asOf)).toEqual(NONE);
  });
});
