import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_TYPES, clientTypes, OPENAPI_DOCUMENT } from '../../lib/console/clientTypes.ts';
import {
  decimalToMinor,
  type FlagQuality,
  flagQualitySentence,
  formatMoney,
  formatPercent,
  formatSignedPoints,
  minorToDecimal,
  reasonLabel,
} from '../../lib/console/format.ts';

describe("the console's typed client", () => {
  it('has the types of the served OpenAPI document: run `npm run openapi` after a change', async () => {
    const generated = await clientTypes(readFileSync(OPENAPI_DOCUMENT, 'utf8'));
    expect(readFileSync(CLIENT_TYPES, 'utf8') === generated).toBe(true);
  });
});

describe("the console's figures", () => {
  it('writes money from minor units exactly, with the currency', () => {
    expect(formatMoney({ amount: 123_456, currency: 'USD' }, 'en-US')).toBe('$1,234.56');
    expect(formatMoney({ amount: 5, currency: 'USD' }, 'en-US')).toBe('$0.05');
    expect(formatMoney({ amount: 1_000_000_000_000, currency: 'USD' }, 'en-US')).toBe(
      '$10,000,000,000.00',
    );
    // No float on the way: 10^12 - 1 minor units stay exact.
    expect(formatMoney({ amount: 999_999_999_999, currency: 'USD' }, 'en-US')).toBe(
      '$9,999,999,999.99',
    );
    expect(formatMoney({ amount: 1500, currency: 'JPY' }, 'en-US')).toBe('¥1,500');
    // Intl puts no-break spaces between figure and currency; compared here as plain spaces.
    const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');
    expect(plain(formatMoney({ amount: 1500, currency: 'KWD' }, 'en-US'))).toBe('KWD 1.500');
    expect(plain(formatMoney({ amount: 123_456, currency: 'EUR' }, 'de-DE'))).toBe('1.234,56 €');
    expect(minorToDecimal(-7, 'USD')).toBe('-0.07');
  });

  it('reads an amount typed in major units as minor units, or refuses it', () => {
    expect(decimalToMinor('25.5', 'USD')).toBe(2550);
    expect(decimalToMinor(' 25.50 ', 'USD')).toBe(2550);
    expect(decimalToMinor('25', 'USD')).toBe(2500);
    expect(decimalToMinor('25', 'JPY')).toBe(25);
    for (const bad of ['25.505', '-1', '1e3', '', 'abc', '1,000']) {
      expect(decimalToMinor(bad, 'USD'), bad).toBeUndefined();
    }
    expect(decimalToMinor('0.5', 'JPY')).toBeUndefined();
  });

  it('writes signed points, probabilities and reasons as a merchant reads them', () => {
    expect(formatSignedPoints(500, 'en-US')).toBe('+500');
    expect(formatSignedPoints(-1200, 'en-US')).toBe('-1,200');
    expect(formatPercent(0.934, 'en-US')).toBe('93%');
    expect(reasonLabel('moved')).toBe('Moved away');
    expect(reasonLabel('unknown')).toBe('Not recorded');
  });
});

describe("the lapse flag's measured accuracy on the call list", () => {
  const measured: FlagQuality = {
    asOf: '2026-06-01T03:00:00.000Z',
    horizonDays: 90,
    evaluated: 1234,
    flag: { precision: 0.6371, recall: 0.3712 },
  };

  it('says what share of those it would have called did not come back, in whole percents', () => {
    expect(flagQualitySentence(measured, 'en-US')).toBe(
      'Of the customers this flag would have called 90 days ago, 64% did not come back ' +
        '(it finds 37% of those who left). Measured 2026-06-01 on 1,234 customers.',
    );
    // Rounded, not cut: 0.995 is 100%, 0.004 is 0%.
    expect(
      flagQualitySentence({ ...measured, flag: { precision: 0.995, recall: 0.004 } }, 'en-US'),
    ).toMatch(/, 100% did not come back \(it finds 0% of those who left\)\./);
    // The measure's day is the API's UTC day, whatever the hour.
    expect(flagQualitySentence({ ...measured, asOf: '2026-05-31T23:59:59.999Z' }, 'en-US')).toMatch(
      / Measured 2026-05-31 on /,
    );
    // In the browser's own locale.
    expect(flagQualitySentence(measured, 'de-DE')?.replace(/[\u00a0\u202f]/g, ' ')).toBe(
      'Of the customers this flag would have called 90 days ago, 64 % did not come back ' +
        '(it finds 37 % of those who left). Measured 2026-06-01 on 1.234 customers.',
    );
  });

  it('leaves recall out when there is none, and counts one customer as one', () => {
    expect(
      flagQualitySentence(
        { ...measured, evaluated: 1, flag: { precision: 0.5, recall: null } },
        'en-US',
      ),
    ).toBe(
      'Of the customers this flag would have called 90 days ago, 50% did not come back. ' +
        'Measured 2026-06-01 on 1 customer.',
    );
  });

  it('says why it cannot be measured yet, in the report’s own words', () => {
    const reason = 'only 312 customers with 2 or more purchase days (500 needed)';
    const insufficient = { ...measured, flag: { precision: null, recall: null } };
    expect(flagQualitySentence({ ...insufficient, insufficientData: reason }, 'en-US')).toBe(
      `The flag's accuracy can't be measured yet: ${reason}.`,
    );
    // One full stop, even when the reason has its own.
    expect(flagQualitySentence({ ...insufficient, insufficientData: `${reason}.` }, 'en-US')).toBe(
      `The flag's accuracy can't be measured yet: ${reason}.`,
    );
    // insufficientData wins over figures (the API sends them null then anyway).
    expect(flagQualitySentence({ ...measured, insufficientData: reason }, 'en-US')).toBe(
      `The flag's accuracy can't be measured yet: ${reason}.`,
    );
  });

  it('says when the flag had nobody to call, and nothing when there is no measure at all', () => {
    const nobody = { ...measured, flag: { precision: null, recall: 0 } };
    expect(flagQualitySentence(nobody, 'en-US')).toBe(
      "The flag would have called nobody 90 days ago, so its accuracy can't be measured yet.",
    );
    // Thresholds set since the last backtest (neither figure): not "nobody", not measured.
    expect(
      flagQualitySentence({ ...measured, flag: { precision: null, recall: null } }, 'en-US'),
    ).toBe(
      "The flag's current thresholds have not been measured yet: the nightly lapse scan measures them.",
    );
    expect(flagQualitySentence({ ...nobody, asOf: null }, 'en-US')).toBeUndefined();
  });
});
