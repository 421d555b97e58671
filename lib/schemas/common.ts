/** Shared by the request schemas: MAX_AMOUNT, ids, text lines, instant(), Money, names, pages. */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { isKeepableInstant } from '../domain/days.ts';
import { ID_PATTERN } from '../ids.ts';

/*
 * Request bodies and queries, validated with zod. Types come from z.infer, and the OpenAPI
 * document (lib/openapi/) is generated from these same schemas.
 *
 * zod/mini rather than classic zod: every function that validates input bundles these
 * files, and mini's tree-shakable functions keep those bundles (and their cold starts)
 * close to a bare DynamoDB client. Mini ships no locale, so the English one is loaded
 * here, where every schema file imports from: the messages are the same as classic zod's.
 */
z.config(en());

export const id = z
  .string()
  .check(z.regex(ID_PATTERN, 'must be an id: 1..64 letters, digits, _ or -'));

/** The bound on money (10^12 minor units): every sum the API keeps of such amounts stays exact. */
export const MAX_AMOUNT = 1_000_000_000_000;

/** Whether `s` has a control character (C0, DEL or C1); `lines` allows tab, CR and LF. */
function hasControlCharacter(s: string, lines = false): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      (c >= 0x7f && c <= 0x9f) ||
      (c < 0x20 && !(lines && (c === 0x09 || c === 0x0a || c === 0x0d)))
    ) {
      return true;
    }
  }
  return false;
}
export const noControl = z.refine<string>((s) => !hasControlCharacter(s), {
  message: 'must not contain control characters',
});
/** Free text (reasons, notes): line breaks and tabs, but no other control characters. */
export const noControlButLines = z.refine<string>((s) => !hasControlCharacter(s, true), {
  message: 'must not contain control characters',
});
/** One line of text: no control characters (NUL, escapes, line breaks). */
export const line = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), noControl);

/**
 * An RFC 3339 instant between 1970 and 9999: ids, cursors and key ranges are built from
 * instants, and nothing the API keeps happened before 1970.
 */
export const instant = () =>
  z.iso
    .datetime({ offset: true })
    .check(
      z.refine(
        (s) => isKeepableInstant(Date.parse(s)),
        'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z',
      ),
    );

/**
 * Registered rather than given a `z.meta({ id })` check: checks are carried into every
 * clone (`moneySchema.check(...)` below and in lib/openapi/responses.ts), which would give the
 * clones the id too. A clone keeps a parent link, so the JSON Schema still refs Money.
 */
export const moneySchema = z
  .object({
    amount: z
      .int()
      .check(
        z.minimum(0),
        z.maximum(MAX_AMOUNT),
        z.describe('Integer minor units (cents for USD), 0..10^12'),
      ),
    currency: z
      .string()
      .check(z.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'), z.describe('ISO 4217')),
  })
  .register(z.globalRegistry, { id: 'Money' });

export const nameSchema = z.object({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200), noControl),
});

export const pageQuerySchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});
