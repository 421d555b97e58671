import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_TYPES, clientTypes, OPENAPI_DOCUMENT } from '../../lib/console/clientTypes.ts';
import {
  decimalToMinor,
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
