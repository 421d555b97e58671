import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Webhook URLs, safe from server-side request forgery.
 *
 * URLs must be `https`, except `http` to a loopback address on the local runtime. Addresses
 * that are (or resolve to) private, loopback, link-local or metadata ranges are refused in
 * AWS, when a URL is registered and again at each delivery; locally loopback is allowed but
 * the rest is still refused. At delivery the connection goes to exactly the address that was
 * checked (the check is the socket's DNS lookup), so a name that re-resolves between the
 * check and the connect (DNS rebinding) gets nowhere.
 */

export interface UrlPolicy {
  /** True on the local runtime only: loopback addresses, and `http` to them, are allowed. */
  allowLoopback: boolean;
  /** Resolves a host name to every address; `dns.promises.lookup(host, { all: true })` by default. */
  lookup?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; message: string };

export const MAX_URL_LENGTH = 2048;

/** How long a URL's name may take to resolve. */
const LOOKUP_TIMEOUT_MS = 3_000;

const defaultLookup = (hostname: string) => dns.lookup(hostname, { all: true, order: 'verbatim' });

/** AWS's instance metadata service over IPv6 (IPv4's 169.254.169.254 is link-local). */
const AWS_METADATA_V6 = ipaddr.IPv6.parse('fd00:ec2::254');
/** `::a.b.c.d`, deprecated IPv4-compatible addresses (`::` and `::1` are classified first). */
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
/** NAT64's well-known prefix: the last 32 bits are the IPv4 address it leads to. */
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
/** IANA's global unicast space; ipaddr calls everything it has no name for `unicast`. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Parses only the canonical textual forms: dotted-decimal IPv4 (no octal, hex or short
 * forms, which tools read differently) and IPv6 without a zone. IPv6 goes through the WHATWG
 * serializer first, which writes it in plain hex (ipaddr.js reads `::a.b.c.d` as
 * `::ffff:a.b.c.d`).
 */
function parseAddress(raw: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const address = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIPv4(address)) return ipaddr.IPv4.parse(address);
  if (!isIPv6(address) || address.includes('%')) return undefined;
  try {
    return ipaddr.IPv6.parse(new URL(`http://[${address}]/`).hostname.slice(1, -1));
  } catch {
    return undefined;
  }
}

function v4Allowed(address: ipaddr.IPv4, policy: UrlPolicy): boolean {
  const range = address.range();
  return range === 'unicast' || (range === 'loopback' && policy.allowLoopback);
}

function v6Allowed(address: ipaddr.IPv6, policy: UrlPolicy): boolean {
  if (address.match(AWS_METADATA_V6, 128)) return false;
  const range = address.range();
  if (range === 'loopback') return policy.allowLoopback;
  // IPv6 forms that carry an IPv4 address are judged by the IPv4 address.
  if (range === 'ipv4Mapped') return v4Allowed(address.toIPv4Address(), policy);
  if (address.match(NAT64_WELL_KNOWN)) {
    const embedded = ipaddr.fromByteArray(address.toByteArray().slice(12));
    return embedded.kind() === 'ipv4' && v4Allowed(embedded as ipaddr.IPv4, policy);
  }
  if (address.match(IPV4_COMPATIBLE)) return false;
  // Everything named (unique-local, link-local, multicast, 6to4, Teredo, rfc6145, site-local,
  // documentation, benchmarking, ...) is refused.
  return range === 'unicast' && address.match(GLOBAL_UNICAST_V6);
}

/**
 * Whether a webhook may connect to `address` (an IP literal; anything else is refused): only
 * public unicast, plus loopback when the policy allows it.
 */
export function addressAllowed(address: string, policy: UrlPolicy): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  return parsed.kind() === 'ipv4'
    ? v4Allowed(parsed as ipaddr.IPv4, policy)
    : v6Allowed(parsed as ipaddr.IPv6, policy);
}

/** `localhost`, `*.localhost` (RFC 6761), with or without the root's trailing dot. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The hosts `http` may go to locally: `localhost`, 127.0.0.0/8 and `[::1]`. */
function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  if (hostname === '[::1]') return true;
  return isIPv4(hostname) && ipaddr.IPv4.parse(hostname).range() === 'loopback';
}

/**
 * Shape checks on a webhook URL, without DNS. The WHATWG parser has already normalized the
 * host: `http://2130706433/` and `http://0x7f.1/` are `127.0.0.1` by then, and IP literals
 * are judged by `addressAllowed`. A fragment is never sent, so it is dropped rather than
 * refused: the returned URL (its `href` is what to store) has none.
 */
export function checkWebhookUrl(raw: string, policy: UrlPolicy): UrlCheck {
  if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH) {
    return { ok: false, message: `URL must be at most ${MAX_URL_LENGTH} characters` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: 'URL is not valid' };
  }
  url.hash = '';
  if (url.href.length > MAX_URL_LENGTH) {
    return { ok: false, message: `URL must be at most ${MAX_URL_LENGTH} characters` };
  }
  const httpAllowed = policy.allowLoopback && isLoopbackHost(url.hostname);
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && httpAllowed))) {
    return {
      ok: false,
      message: policy.allowLoopback
        ? 'URL must use https, or http to a loopback address'
        : 'URL must use https',
    };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, message: 'URL must not contain a username or password' };
  }
  const host = url.hostname;
  const literal = host.startsWith('[') || isIPv4(host);
  if (literal ? !addressAllowed(host, policy) : isLocalhostName(host) && !policy.allowLoopback) {
    return { ok: false, message: 'URL host is not allowed' };
  }
  return { ok: true, url };
}

type Resolved =
  | { ok: true; addresses: LookupAddress[] }
  | { ok: false; reason: 'refused' | 'unresolved' };

/** Every address `hostname` resolves to, or why not: one refused address refuses them all. */
async function resolveAllowed(hostname: string, policy: UrlPolicy): Promise<Resolved> {
  let found: { address: string; family: number }[];
  let timer: NodeJS.Timeout | undefined;
  try {
    // A name whose servers never answer is "does not resolve" within LOOKUP_TIMEOUT_MS,
    // not a function timed out.
    found = await Promise.race([
      (policy.lookup ?? defaultLookup)(hostname),
      new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error('lookup timed out')), LOOKUP_TIMEOUT_MS);
      }),
    ]);
  } catch {
    return { ok: false, reason: 'unresolved' };
  } finally {
    clearTimeout(timer);
  }
  if (!Array.isArray(found) || found.length === 0) return { ok: false, reason: 'unresolved' };
  const addresses: LookupAddress[] = [];
  for (const { address } of found) {
    const parsed = typeof address === 'string' ? parseAddress(address) : undefined;
    if (!parsed || !addressAllowed(address, policy)) return { ok: false, reason: 'refused' };
    addresses.push({ address, family: parsed.kind() === 'ipv4' ? 4 : 6 });
  }
  return { ok: true, addresses };
}

/**
 * `checkWebhookUrl`, then, for a host name, its DNS: every address it resolves to must be
 * allowed. For registering a URL (a refusal is a 400); deliveries check again themselves.
 */
export async function checkWebhookUrlResolved(raw: string, policy: UrlPolicy): Promise<UrlCheck> {
  const checked = checkWebhookUrl(raw, policy);
  if (!checked.ok) return checked;
  const host = checked.url.hostname;
  if (host.startsWith('[') || isIPv4(host)) return checked;
  const resolved = await resolveAllowed(host, policy);
  if (resolved.ok) return checked;
  return {
    ok: false,
    message:
      resolved.reason === 'refused'
        ? 'URL host resolves to an address that is not allowed'
        : 'URL host does not resolve',
  };
}

class RefusedAddressError extends Error {
  readonly code = 'EWEBHOOKREFUSED';
}

/**
 * A `lookup` for `request` that resolves with the policy's lookup and hands the socket only
 * addresses it has checked. Node calls it with `all: true` when it may try several addresses
 * (autoSelectFamily), else for one.
 */
function checkedLookup(policy: UrlPolicy) {
  return (
    hostname: string,
    options: LookupOptions,
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    resolveAllowed(hostname, policy).then(
      (resolved) => {
        if (!resolved.ok) {
          const err: NodeJS.ErrnoException =
            resolved.reason === 'refused'
              ? new RefusedAddressError(`refused address for ${hostname}`)
              : Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
          callback(err, '');
          return;
        }
        const family =
          options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const wanted =
          family === 4 || family === 6
            ? resolved.addresses.filter((a) => a.family === family)
            : resolved.addresses;
        const [first] = wanted;
        if (!first) {
          callback(
            Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
            '',
          );
        } else if (options.all) {
          callback(null, wanted);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), ''),
    );
  };
}

/** A short, client-facing reason for a failed delivery. */
function describeError(err: unknown): string {
  if (err instanceof RefusedAddressError) return 'refused address';
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NODATA':
    case 'EAI_NONAME':
      return 'dns lookup failed';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_VERSION':
    case 'HPE_HEADER_OVERFLOW':
      return 'invalid http response';
  }
  if (code.startsWith('HPE_')) return 'invalid http response';
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code.includes('SELF_SIGNED') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  ) {
    return 'tls error';
  }
  return 'request failed';
}

export interface SendResult {
  /** The response's status, when a status line arrived (a 3xx is not followed). */
  statusCode?: number;
  /** Why the delivery failed, short: 'timeout', 'refused address', 'connection refused', ... */
  error?: string;
  durationMs: number;
}

/**
 * POSTs a webhook. The URL is checked again, and the socket's DNS lookup is the policy's,
 * refusing every name with any disallowed address and connecting to exactly the addresses
 * checked (TLS still verifies the certificate for, and sends SNI of, the host name).
 * Redirects are not followed. `timeoutMs` (10 s) bounds everything from now to the end of
 * the response, including a body that stalls; at most `maxResponseBytes` (4 KiB) of the body
 * is read before the socket is destroyed, and a response cut there is not an error. Never
 * throws: failures are `error`, with `statusCode` if a status line arrived first.
 */
export async function sendWebhook(
  url: string,
  init: { headers: Record<string, string>; body: string },
  policy: UrlPolicy & { timeoutMs?: number; maxResponseBytes?: number },
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const checked = checkWebhookUrl(url, policy);
  if (!checked.ok) return { error: 'refused url', durationMs: elapsed() };
  const timeoutMs = policy.timeoutMs ?? 10_000;
  const maxResponseBytes = policy.maxResponseBytes ?? 4096;

  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let statusCode: number | undefined;
    let req: ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve({
        ...(statusCode !== undefined && { statusCode }),
        ...(error !== undefined && { error }),
        durationMs: elapsed(),
      });
    };

    const onResponse = (res: IncomingMessage) => {
      statusCode = res.statusCode;
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= maxResponseBytes) finish();
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(describeError(err)));
      res.on('close', () => finish(res.complete ? undefined : 'connection closed'));
    };

    try {
      const headers: Record<string, string> = { ...init.headers };
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')) {
        headers['content-length'] = String(Buffer.byteLength(init.body, 'utf8'));
      }
      const options: RequestOptions = {
        method: 'POST',
        headers,
        agent: false,
        lookup: checkedLookup(policy),
      };
      const send = checked.url.protocol === 'https:' ? httpsRequest : httpRequest;
      req = send(checked.url, options, onResponse);
      req.on('error', (err) => finish(describeError(err)));
      req.on('close', () => finish('connection closed'));
      timer = setTimeout(() => finish('timeout'), timeoutMs);
      req.end(init.body);
    } catch {
      // Only a bad request (an invalid header name or value) throws synchronously.
      finish('invalid request');
    }
  });
}
