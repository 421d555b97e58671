import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fileSink, linkedDocument } from '../../lib/exports/files.ts';
import { s3Sink } from '../../lib/exports/s3.ts';

/**
 * The exports' two sinks, no AWS and no server: the bucket's through a mocked S3 client
 * (what lib-storage sends for a small and a large document, and for one that fails), the
 * local files' links checked with an injected clock.
 */
const s3 = mockClient(S3Client);
const NAME = 'exp_01KAAAAAAAAAAAAAAAAAAAAAAA.json';
const MIB = 1024 * 1024;

async function* chunksOf(parts: string[], failAfter?: number) {
  for (const [i, part] of parts.entries()) {
    if (i === failAfter) throw new Error('the ledger read failed');
    yield part;
  }
}

const bodyText = async (body: unknown) =>
  typeof body === 'string' ? body : Buffer.from(body as Uint8Array).toString('utf8');

beforeAll(() => {
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'example-secret';
  process.env.LOYALTY_TOKEN_SECRET ||= 'a local secret for the links';
});
beforeEach(() => s3.reset());

describe('the S3 sink', () => {
  const sink = s3Sink('exports-bucket');

  it('puts a small document as one object, its bytes as sent', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const bytes = await sink.write(NAME, chunksOf(['{"a":', '"é"}\n']));
    expect(bytes).toBe(Buffer.byteLength('{"a":"é"}\n'));
    const [put] = s3.commandCalls(PutObjectCommand);
    expect(put?.args[0].input).toMatchObject({
      Bucket: 'exports-bucket',
      Key: NAME,
      ContentType: 'application/json; charset=utf-8',
    });
    expect(await bodyText(put?.args[0].input.Body)).toBe('{"a":"é"}\n');
  });

  it('streams a large document in 8 MiB parts, and completes it', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const parts = Array.from({ length: 18 }, (_, i) => String(i % 10).repeat(MIB / 2));
    expect(await sink.write(NAME, chunksOf(parts))).toBe(9 * MIB);
    const uploaded = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(uploaded.map((p) => p.PartNumber).sort()).toEqual([1, 2]);
    const sizes = await Promise.all(uploaded.map(async (p) => (await bodyText(p.Body)).length));
    expect(sizes.sort((a, b) => b - a)).toEqual([8 * MIB, MIB]);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('aborts the upload when the document fails half-way, and keeps nothing', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u2' });
    s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
    s3.on(AbortMultipartUploadCommand).resolves({});
    const parts = Array.from({ length: 20 }, () => 'x'.repeat(MIB));
    await expect(sink.write(NAME, chunksOf(parts, 17))).rejects.toThrow('the ledger read failed');
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('links with a presigned GET of the object, for at most a day', async () => {
    const now = new Date('2026-03-01T10:00:00Z');
    const url = new URL(await sink.link(NAME, new Date(now.getTime() + 3_600_000), now));
    expect(url.hostname).toContain('exports-bucket');
    expect(url.pathname).toBe(`/${NAME}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20260301T100000Z');
    expect(url.searchParams.get('response-content-disposition')).toContain('attachment');
    const week = new URL(await sink.link(NAME, new Date(now.getTime() + 7 * 86_400_000), now));
    expect(week.searchParams.get('X-Amz-Expires')).toBe('86400');
  });

  it('deletes the object', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    await sink.remove(NAME);
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'exports-bucket',
      Key: NAME,
    });
  });
});

describe('the local files and their signed links', () => {
  let dir: string;
  const now = new Date('2026-03-01T10:00:00Z');
  const at = (ms: number) => new Date(now.getTime() + ms);
  const query = (url: string) => new URL(url).searchParams;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'exports-unit-'));
    process.env.LOYALTY_EXPORT_DIR = dir;
    process.env.LOYALTY_EXPORT_LINK_BASE = 'http://127.0.0.1:3000';
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the document whole, readable by its owner only, and nothing if it fails', async () => {
    const sink = fileSink(dir);
    expect(await sink.write(NAME, chunksOf(['{"x":', '1}']))).toBe(7);
    expect(readFileSync(join(dir, NAME), 'utf8')).toBe('{"x":1}');
    expect(statSync(join(dir, NAME)).mode & 0o777).toBe(0o600);
    const other = 'exp_01KBBBBBBBBBBBBBBBBBBBBBBB.json';
    await expect(sink.write(other, chunksOf(['{', '}'], 1))).rejects.toThrow();
    expect(() => statSync(join(dir, other))).toThrow();
    expect(() => statSync(join(dir, `${other}.partial`))).toThrow();
    await expect(sink.write('../token-secret', chunksOf(['x']))).rejects.toThrow();
  });

  it('serves a link until it expires, then refuses it (403), as a forged one', async () => {
    const url = await fileSink(dir).link(NAME, at(3_600_000), now);
    expect(url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:3000/local/exports/${NAME}\\?expires=\\d+&signature=`),
    );
    const served = await linkedDocument(NAME, query(url), at(3_599_000));
    served.stream.destroy();
    expect(served.bytes).toBe(7);
    for (const when of [at(3_600_000), at(86_400_000)]) {
      await expect(linkedDocument(NAME, query(url), when)).rejects.toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('expired'),
      });
    }
    const longer = query(url);
    longer.set('expires', String(Number(longer.get('expires')) + 3600));
    await expect(linkedDocument(NAME, longer, now)).rejects.toMatchObject({ code: 'forbidden' });
    // A link for another document does not open this one.
    const otherName = 'exp_01KCCCCCCCCCCCCCCCCCCCCCCC.json';
    const other = await fileSink(dir).link(otherName, at(3_600_000), now);
    await expect(linkedDocument(NAME, query(other), now)).rejects.toMatchObject({
      code: 'forbidden',
    });
    for (const bad of ['', 'expires=abc&signature=x', 'expires=1&signature=%00']) {
      await expect(linkedDocument(NAME, new URLSearchParams(bad), now)).rejects.toMatchObject({
        code: 'forbidden',
      });
    }
  });

  it('never links for longer than a day, and names nothing but export documents', async () => {
    const url = await fileSink(dir).link(NAME, at(30 * 86_400_000), now);
    expect(Number(query(url).get('expires'))).toBe(now.getTime() / 1000 + 86_400);
    for (const name of [
      '../token-secret',
      'token-secret',
      `${NAME}.partial`,
      '',
      NAME.toLowerCase(),
    ]) {
      await expect(linkedDocument(name, query(url), now)).rejects.toMatchObject({
        code: 'not-found',
      });
    }
    await expect(fileSink(dir).link('../x.json', at(1000), now)).rejects.toThrow();
  });

  it('answers 404 for a valid link to a document no longer kept', async () => {
    const url = await fileSink(dir).link(NAME, at(3_600_000), now);
    await fileSink(dir).remove(NAME);
    await fileSink(dir).remove(NAME);
    await expect(linkedDocument(NAME, query(url), now)).rejects.toMatchObject({
      code: 'not-found',
    });
  });
});
