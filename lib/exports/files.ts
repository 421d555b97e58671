/**
 * The local exports (npm start, tests): documents are files in LOYALTY_EXPORT_DIR (the data
 * directory's `exports/`, mode 700, files 600), and a link is the local server's
 * `/local/exports/<name>?expires=<epoch s>&signature=<HMAC-SHA256>`, signed with a key
 * derived from the runtime's own secret (LOYALTY_TOKEN_SECRET). The server serves a file
 * only for a valid signature on its exact name and expiry, before that expiry, and only
 * names of the one shape an export's document has: nothing else in or out of the
 * directory can be reached. LOYALTY_EXPORT_LINK_BASE is the server's own URL.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '../errors.ts';
import { counted, type ExportSink, MAX_LINK_SECONDS } from './sink.ts';

/** The path the local server serves documents under. */
export const LOCAL_EXPORTS_PATH = '/local/exports/';

/** An export document's name, and nothing else: `exp_<ULID>.json`. */
const NAME = /^exp_[0-9A-HJKMNP-TV-Z]{26}\.json$/;

function linkKey(): Buffer {
  const secret = process.env.LOYALTY_TOKEN_SECRET;
  if (!secret) throw new Error('LOYALTY_TOKEN_SECRET must be set for local export links');
  return Buffer.from(hkdfSync('sha256', secret, 'loyalty-exports', 'export-links', 32));
}

const signatureOf = (name: string, expires: number) =>
  createHmac('sha256', linkKey()).update(`${name}\n${expires}`).digest();

function checkedName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not an export document's name: ${name}`);
  return name;
}

export function fileSink(dir: string): ExportSink {
  return {
    async write(name, chunks) {
      const file = join(dir, checkedName(name));
      const partial = `${file}.partial`;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const body = counted(chunks);
      try {
        await pipeline(Readable.from(body.chunks), createWriteStream(partial, { mode: 0o600 }));
        await rename(partial, file);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      return body.bytes();
    },
    async link(name, expiresAt, now) {
      const base = process.env.LOYALTY_EXPORT_LINK_BASE;
      if (!base) throw new Error('LOYALTY_EXPORT_LINK_BASE must be set for local export links');
      const latest = Math.floor(now.getTime() / 1000) + MAX_LINK_SECONDS;
      const expires = Math.min(Math.floor(expiresAt.getTime() / 1000), latest);
      const signature = signatureOf(checkedName(name), expires).toString('base64url');
      return `${base}${LOCAL_EXPORTS_PATH}${name}?expires=${expires}&signature=${signature}`;
    },
    async remove(name) {
      await rm(join(dir, checkedName(name)), { force: true });
    },
  };
}

const refused = (detail: string) => new DomainError('forbidden', detail);

/**
 * The file a local link names, if the link is valid at `now`: a forged, altered or expired
 * link is 403 `forbidden` (as S3 answers a presigned link's), a link to a document that is
 * gone 404. Only the local server calls this.
 */
export async function linkedDocument(
  name: string,
  query: URLSearchParams,
  now: Date,
): Promise<{ stream: Readable; bytes: number }> {
  if (!NAME.test(name)) throw new DomainError('not-found', 'Not found');
  const expiresText = query.get('expires') ?? '';
  const signature = query.get('signature') ?? '';
  if (!/^\d{1,12}$/.test(expiresText) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) {
    throw refused('This link is not valid: ask for the export again for a new one');
  }
  const expires = Number(expiresText);
  const given = Buffer.from(signature, 'base64url');
  if (!timingSafeEqual(given, signatureOf(name, expires))) {
    throw refused('This link is not valid: ask for the export again for a new one');
  }
  const nowSeconds = now.getTime() / 1000;
  if (expires <= nowSeconds) {
    throw refused('This link has expired: GET the export again for a new one');
  }
  const dir = process.env.LOYALTY_EXPORT_DIR;
  if (!dir) throw new DomainError('not-found', 'Not found');
  const file = join(dir, name);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new DomainError('not-found', 'This export is no longer kept');
  return { stream: createReadStream(file), bytes: info.size };
}
