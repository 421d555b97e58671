import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  newWebhookSecret,
  signatureHeader,
  verifySignature,
} from '../../lib/webhooks/signature.ts';

const body = '{"id":"evt_1","type":"points.earned"}';
const secret = 'whsec_test_secret';
const t = 1_700_000_000;

const hmac = (key: string, message: string) =>
  createHmac('sha256', key).update(message).digest('hex');

describe('signatureHeader', () => {
  it('is t and HMAC-SHA256 keyed with the whole secret over "<t>.<body>"', () => {
    const header = signatureHeader([secret], body, t);
    expect(header).toBe(`t=${t},v1=${hmac(secret, `${t}.${body}`)}`);
    // Computed separately: printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac <secret>
    expect(header).toBe(
      't=1700000000,v1=ded43d6c602be5365860cda1f1a18bffa27e33951b32b3741d803ce6b6091d8b',
    );
  });

  it('signs with every secret, in order', () => {
    const other = 'whsec_other';
    const header = signatureHeader([secret, other], body, t);
    expect(header).toBe(
      `t=${t},v1=${hmac(secret, `${t}.${body}`)},v1=${hmac(other, `${t}.${body}`)}`,
    );
    expect(header.match(/v1=/g)).toHaveLength(2);
  });

  it('hashes the body as UTF-8', () => {
    const unicode = '{"name":"Zoë ✓"}';
    expect(signatureHeader([secret], unicode, t)).toBe(
      `t=${t},v1=${hmac(secret, `${t}.${unicode}`)}`,
    );
  });

  it('refuses a t that is not integer seconds, and no secrets', () => {
    expect(() => signatureHeader([secret], body, 1.5)).toThrow(RangeError);
    expect(() => signatureHeader([secret], body, -1)).toThrow(RangeError);
    expect(() => signatureHeader([secret], body, 2 ** 53)).toThrow(RangeError);
    expect(() => signatureHeader([], body, t)).toThrow(RangeError);
  });
});

describe('verifySignature', () => {
  const header = signatureHeader([secret], body, t);

  it('accepts within 300 s either way, and refuses outside', () => {
    expect(verifySignature(header, body, secret, t)).toBe(true);
    expect(verifySignature(header, body, secret, t + 300)).toBe(true);
    expect(verifySignature(header, body, secret, t - 300)).toBe(true);
    expect(verifySignature(header, body, secret, t + 301)).toBe(false);
    expect(verifySignature(header, body, secret, t - 301)).toBe(false);
    expect(verifySignature(header, body, secret, t + 1000, 1000)).toBe(true);
  });

  it('refuses a tampered body, another secret, or a changed t', () => {
    expect(verifySignature(header, `${body} `, secret, t)).toBe(false);
    expect(verifySignature(header, body.replace('evt_1', 'evt_2'), secret, t)).toBe(false);
    expect(verifySignature(header, body, 'whsec_wrong', t)).toBe(false);
    expect(verifySignature(header.replace(`t=${t}`, `t=${t + 1}`), body, secret, t)).toBe(false);
  });

  it('accepts any one of several v1s, so secrets can roll', () => {
    const rolled = signatureHeader(['whsec_old', 'whsec_new'], body, t);
    expect(verifySignature(rolled, body, 'whsec_old', t)).toBe(true);
    expect(verifySignature(rolled, body, 'whsec_new', t)).toBe(true);
    expect(verifySignature(rolled, body, secret, t)).toBe(false);
  });

  it('is tolerant of spaces, order and unknown keys', () => {
    const v1 = hmac(secret, `${t}.${body}`);
    for (const variant of [
      ` t=${t} , v1=${v1} `,
      `v1=${v1},t=${t}`,
      `v0=abc,t=${t},v2=${'0'.repeat(64)},v1=${'f'.repeat(64)},v1=${v1},x`,
      `t=${t},v1=${v1.toUpperCase()}`,
    ]) {
      expect(verifySignature(variant, body, secret, t), variant).toBe(true);
    }
  });

  it('refuses malformed headers', () => {
    const v1 = hmac(secret, `${t}.${body}`);
    for (const bad of [
      '',
      `v1=${v1}`,
      `t=${t}`,
      `t=${t},t=${t},v1=${v1}`,
      `t=abc,v1=${v1}`,
      `t=${t}.5,v1=${v1}`,
      `t=${t},v1=${v1.slice(0, 62)}`,
      `t=${t},v1=${v1}00`,
      `t=${t},v2=${v1}`,
    ]) {
      expect(verifySignature(bad, body, secret, t), bad).toBe(false);
    }
  });
});

describe('newWebhookSecret', () => {
  it('is whsec_ and 32 random bytes, base64url', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    const header = signatureHeader([a], body, t);
    expect(verifySignature(header, body, a, t)).toBe(true);
  });
});
