export interface Tier {
  id: string;
  name: string;
  /** Net spend in minor units over the qualifying window needed to hold this tier. */
  qualifyingSpend: number;
  /** A decimal with at most 4 places, at least 1 (e.g. 1.25). */
  multiplier: number;
}

export interface Program {
  name: string;
  currency: string;
  earnRate: { points: number; per: number };
  cashValue: { points: number; amount: number };
  tiers: Tier[];
  qualifyingWindowMonths: number;
  pendingDays: number;
  pointsExpireAfterDays: number | null;
  maxBackdateDays: number;
  holdMinutes: number;
  lapse: {
    factor: number;
    minPurchases: number;
    minDays: number;
    /** calibrated: the lapse-scan job chooses factor and minDays (lapseCalibration.ts). */
    mode: 'fixed' | 'calibrated';
    /** The precision calibration aims for. */
    targetPrecision: number;
  };
  /** Lines in these categories (gift cards, deposits) earn nothing and do not count towards tiers. */
  excludedCategories: string[];
}

/** What a program stored before calibration existed runs with. */
const LAPSE_MODE_DEFAULTS: Pick<Program['lapse'], 'mode' | 'targetPrecision'> = {
  mode: 'fixed',
  targetPrecision: 0.7,
};

/** A program as stored by a version that had fewer fields, completed with the defaults. */
export const withDefaults = (
  p: Omit<Program, 'excludedCategories' | 'lapse'> &
    Partial<Program> & { lapse: Pick<Program['lapse'], 'factor' | 'minPurchases' | 'minDays'> },
): Program => ({
  ...p,
  lapse: { ...LAPSE_MODE_DEFAULTS, ...p.lapse },
  excludedCategories: p.excludedCategories ?? [],
});

/** The program a fresh deployment starts with (the README's worked example uses it). */
export const defaultProgram: Program = {
  name: 'Acme Rewards',
  currency: 'USD',
  earnRate: { points: 1, per: 100 },
  cashValue: { points: 100, amount: 100 },
  tiers: [
    { id: 'member', name: 'Member', qualifyingSpend: 0, multiplier: 1 },
    { id: 'silver', name: 'Silver', qualifyingSpend: 50000, multiplier: 1.25 },
    { id: 'gold', name: 'Gold', qualifyingSpend: 200000, multiplier: 1.5 },
  ],
  qualifyingWindowMonths: 12,
  pendingDays: 0,
  pointsExpireAfterDays: null,
  maxBackdateDays: 30,
  holdMinutes: 15,
  lapse: { factor: 2, minPurchases: 3, minDays: 14, mode: 'fixed', targetPrecision: 0.7 },
  excludedCategories: [],
};
