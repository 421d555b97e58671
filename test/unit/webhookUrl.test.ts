import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addressAllowed,
  checkWebhookUrl,
  checkWebhookUrlResolved,
  sendWebhook,
  type UrlPolicy,
} from '../../lib/webhooks/url.ts';

/** A self-signed certificate for hooks.example.com (test only; no client trusts it). */
const TEST_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3xwXBJEJRdD2nrC2
fwhM4GhYy5xB6N1iRBdUnbmdpCahRANCAATbU4boJsdx7RVFzfAadVNVTFLMq6KL
r2Xcng1bd4runN1ljCiZcl4xJy/B6iQqOoQhoBE+OPq5bTzZENwyy+P6
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBrDCCAVOgAwIBAgIUSu55CssqN8FleEyjffK6012QbdcwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRaG9va3MuZXhhbXBsZS5jb20wIBcNMjYxMTI5MjAyMzM0WhgP
MjEyNjExMDUyMDIzMzRaMBwxGjAYBgNVBAMMEWhvb2tzLmV4YW1wbGUuY29tMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE21OG6CbHce0VRc3wGnVTVUxSzKuii69l
3J4NW3eK7pzdZYwomXJeMScvweokKjqEIaARPjj6uW082RDcMsvj+qNxMG8wHQYD
VR0OBBYEFBAtlzAll+p8FHRAAyY4L3f+o6BEMB8GA1UdIwQYMBaAFBAtlzAll+p8
FHRAAyY4L3f+o6BEMA8GA1UdEwEB/wQFMAMBAf8wHAYDVR0RBBUwE4IRaG9va3Mu
ZXhhbXBsZS5jb20wCgYIKoZIzj0EAwIDRwAwRAIgeBC50ycptGQoKECMmtY7ASDq
8ZuU53+0zssbtjhd9ZECIF6kjgyyIbDphp2na0736w+E2yKKn3sL31sy5XocQoev
-----END CERTIFICATE-----
`,
};

const aws: UrlPolicy = { allowLoopback: false };
const local: UrlPolicy = { allowLoopback: true };

/** A resolver that answers every name with `addresses`, counting the calls. */
function fakeLookup(...answers: string[][]) {
  const calls: string[] = [];
  const lookup = async (hostname: string) => {
    calls.push(hostname);
    const addresses = answers[Math.min(calls.length, answers.length) - 1] ?? [];
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { lookup, calls };
}

describe('addressAllowed', () => {
  it('allows public unicast only', () => {
    for (const ok of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '2a00:1450:4001::1']) {
      expect(addressAllowed(ok, aws), ok).toBe(true);
    }
  });

  it('refuses private, loopback, link-local, metadata and reserved ranges', () => {
    for (const refused of [
      '0.0.0.0',
      '0.1.2.3',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '127.0.0.1',
      '127.255.0.1',
      '169.254.169.254',
      '169.254.170.2',
      '100.64.0.1',
      '100.127.255.255',
      '224.0.0.1',
      '239.255.255.250',
      '255.255.255.255',
      '240.0.0.1',
      '192.0.2.1',
      '198.18.0.1',
      '::',
      '::1',
      'fe80::1',
      'febf::1',
      'fc00::1',
      'fd12:3456::1',
      'fd00:ec2::254',
      'fd00:ec2::253',
      'ff02::1',
      '2001:db8::1',
      '::ffff:169.254.169.254',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:a9fe:a9fe',
      '::10.0.0.1',
      '::8.8.8.8',
      '::ffff:0:10.0.0.1',
      '64:ff9b::10.0.0.1',
      '64:ff9b::a9fe:a9fe',
      '2002:a9fe:a9fe::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '4000::1',
    ]) {
      expect(addressAllowed(refused, aws), refused).toBe(false);
    }
  });

  it('judges IPv4-mapped and NAT64 forms by their IPv4 address', () => {
    expect(addressAllowed('::ffff:8.8.8.8', aws)).toBe(true);
    expect(addressAllowed('64:ff9b::8.8.8.8', aws)).toBe(true);
  });

  it('allows loopback only when the policy does, and nothing else more', () => {
    for (const loopback of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
      expect(addressAllowed(loopback, local), loopback).toBe(true);
    }
    for (const refused of ['10.0.0.1', '169.254.169.254', 'fd00:ec2::254', 'fe80::1', '0.0.0.0']) {
      expect(addressAllowed(refused, local), refused).toBe(false);
    }
  });

  it('refuses anything that is not a canonical IP literal', () => {
    for (const odd of [
      '',
      'localhost',
      'example.com',
      '2130706433',
      '0x7f.1',
      '010.0.0.1',
      '127.1',
    ]) {
      expect(addressAllowed(odd, local), odd).toBe(false);
    }
    expect(addressAllowed('fe80::1%eth0', local)).toBe(false);
    expect(addressAllowed('[::1]', local)).toBe(true);
  });
});

describe('checkWebhookUrl', () => {
  const refused = (raw: string, policy: UrlPolicy) => {
    const result = checkWebhookUrl(raw, policy);
    expect(result.ok, raw).toBe(false);
    if (!result.ok) {
      expect(result.message.length).toBeLessThan(80);
      expect(result.message).not.toMatch(/\n|Error|\(/);
    }
  };

  it('accepts https to a public host, and normalizes it', () => {
    const result = checkWebhookUrl('HTTPS://Hooks.Example.com/loyalty?x=1', aws);
    expect(result).toMatchObject({ ok: true });
    if (result.ok) expect(result.url.href).toBe('https://hooks.example.com/loyalty?x=1');
    expect(checkWebhookUrl('https://93.184.215.14:8443/hook', aws).ok).toBe(true);
    expect(checkWebhookUrl('https://[2606:4700:4700::1111]/hook', aws).ok).toBe(true);
  });

  it('drops a fragment', () => {
    const result = checkWebhookUrl('https://hooks.example.com/a#b', aws);
    expect(result.ok && result.url.href).toBe('https://hooks.example.com/a');
  });

  it('refuses http to a public host, locally too', () => {
    refused('http://hooks.example.com/', aws);
    refused('http://hooks.example.com/', local);
    refused('http://93.184.215.14/', local);
  });

  it('allows http to loopback only locally', () => {
    for (const raw of [
      'http://127.0.0.1:1234/hook',
      'http://localhost/hook',
      'http://[::1]:8080/',
      'http://0x7f.1/',
    ]) {
      expect(checkWebhookUrl(raw, local).ok, raw).toBe(true);
      refused(raw, aws);
    }
    expect(checkWebhookUrl('https://localhost/', local).ok).toBe(true);
    refused('https://localhost/', aws);
    refused('https://a.localhost./', aws);
    refused('https://127.0.0.1/', aws);
  });

  it('refuses metadata, private and odd-form addresses', () => {
    for (const raw of [
      'https://169.254.169.254/latest/meta-data/',
      'http://169.254.169.254/latest/meta-data/',
      'https://[::ffff:169.254.169.254]/',
      'https://[::ffff:a9fe:a9fe]/',
      'https://[fd00:ec2::254]/',
      'https://10.0.0.1/',
      'https://192.168.1.1/',
      'https://172.16.0.1/',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[::]/',
      'https://[fe80::1]/',
      'https://0251.0376.0251.0376/', // octal 169.254.169.254
      'https://0xa9fea9fe/',
      'https://2852039166/',
    ]) {
      refused(raw, aws);
      refused(raw, local);
    }
    refused('http://2130706433/', aws);
    // The WHATWG parser reads it as 127.0.0.1, which is loopback: allowed locally only.
    expect(checkWebhookUrl('http://2130706433/', local)).toMatchObject({ ok: true });
    const normalized = checkWebhookUrl('http://2130706433/', local);
    expect(normalized.ok && normalized.url.hostname).toBe('127.0.0.1');
  });

  it('refuses credentials, other schemes, long URLs and non-URLs', () => {
    refused('https://user:pass@hooks.example.com/', aws);
    refused('https://user@hooks.example.com/', aws);
    refused('http://user:pass@127.0.0.1/', local);
    refused('ftp://hooks.example.com/', aws);
    refused('file:///etc/passwd', local);
    refused('javascript:alert(1)', aws);
    refused(`https://hooks.example.com/${'a'.repeat(3000)}`, aws);
    refused('not-a-url', aws);
    refused('', aws);
    refused('https://', aws);
    expect(checkWebhookUrl(`https://hooks.example.com/${'a'.repeat(2000)}`, aws).ok).toBe(true);
  });
});

describe('checkWebhookUrlResolved', () => {
  it('refuses a name that resolves to any refused address', async () => {
    for (const addresses of [['10.0.0.1'], ['169.254.169.254'], ['8.8.8.8', '127.0.0.1']]) {
      const { lookup } = fakeLookup(addresses);
      expect(
        await checkWebhookUrlResolved('https://hooks.example.com/', { ...aws, lookup }),
      ).toEqual({ ok: false, message: 'URL host resolves to an address that is not allowed' });
    }
  });

  it('accepts a name with only public addresses, and does not resolve IP literals', async () => {
    const { lookup, calls } = fakeLookup(['93.184.215.14', '2606:4700:4700::1111']);
    expect(
      await checkWebhookUrlResolved('https://hooks.example.com/', { ...aws, lookup }),
    ).toMatchObject({ ok: true });
    expect(await checkWebhookUrlResolved('https://8.8.8.8/', { ...aws, lookup })).toMatchObject({
      ok: true,
    });
    expect(calls).toEqual(['hooks.example.com']);
  });

  it('refuses a name that does not resolve', async () => {
    const lookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await checkWebhookUrlResolved('https://nowhere.example/', { ...aws, lookup })).toEqual({
      ok: false,
      message: 'URL host does not resolve',
    });
  });
});

describe('sendWebhook', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
    const server = createServer(handler);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  const delivery = {
    headers: { 'content-type': 'application/json', 'webhook-signature': 't=1,v1=ab' },
    body: '{"id":"evt_1"}',
  };

  it('POSTs the body and headers, and reports a 200', async () => {
    const seen: { method?: string; headers?: IncomingMessage['headers']; body?: string }[] = [];
    const port = await serve(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      seen.push({ method: req.method, headers: req.headers, body });
      res.end('ok');
    });
    const result = await sendWebhook(`http://127.0.0.1:${port}/hook`, delivery, local);
    expect(result).toEqual({ statusCode: 200, durationMs: expect.any(Number) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      body: '{"id":"evt_1"}',
      headers: {
        'content-type': 'application/json',
        'webhook-signature': 't=1,v1=ab',
        'content-length': '14',
      },
    });
  });

  it('reports a 500 as its status', async () => {
    const port = await serve((_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const result = await sendWebhook(`http://127.0.0.1:${port}/`, delivery, local);
    expect(result.statusCode).toBe(500);
    expect(result.error).toBeUndefined();
  });

  it('does not follow redirects', async () => {
    let targetHits = 0;
    const port = await serve((req, res) => {
      if (req.url === '/target') {
        targetHits += 1;
        res.end('ok');
      } else {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/target` });
        res.end();
      }
    });
    const result = await sendWebhook(`http://127.0.0.1:${port}/start`, delivery, local);
    expect(result.statusCode).toBe(302);
    expect(targetHits).toBe(0);
  });

  it('cuts a receiver that never answers at the timeout', async () => {
    const port = await serve(() => {});
    const result = await sendWebhook(`http://127.0.0.1:${port}/`, delivery, {
      ...local,
      timeoutMs: 300,
    });
    expect(result.error).toBe('timeout');
    expect(result.statusCode).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(2000);
  });

  it('cuts a receiver that sends headers and then stalls the body', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    const started = Date.now();
    const result = await sendWebhook(`http://127.0.0.1:${port}/`, delivery, {
      ...local,
      timeoutMs: 300,
    });
    expect(result).toMatchObject({ statusCode: 200, error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reads no more than the limit of a huge body', async () => {
    let finished = false;
    let closed = false;
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = 1600; // 100 MiB
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          left -= 1;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) {
          res.end(() => {
            finished = true;
          });
        }
      };
      res.on('close', () => {
        closed = true;
      });
      pump();
    });
    const started = Date.now();
    const result = await sendWebhook(`http://127.0.0.1:${port}/`, delivery, {
      ...local,
      timeoutMs: 5000,
      maxResponseBytes: 1024,
    });
    expect(result).toEqual({ statusCode: 200, durationMs: expect.any(Number) });
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => closed).toBe(true);
    expect(finished).toBe(false);
  });

  it('reports a refused connection', async () => {
    const port = await serve(() => {});
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const result = await sendWebhook(`http://127.0.0.1:${port}/`, delivery, local);
    expect(result.error).toBe('connection refused');
    expect(result.statusCode).toBeUndefined();
  });

  it('refuses URLs that checkWebhookUrl refuses, without connecting', async () => {
    let hits = 0;
    const port = await serve((_req, res) => {
      hits += 1;
      res.end();
    });
    for (const url of [`http://127.0.0.1:${port}/`, 'https://169.254.169.254/', 'not-a-url']) {
      const result = await sendWebhook(url, delivery, aws);
      expect(result.error, url).toBe('refused url');
    }
    expect(hits).toBe(0);
  });

  it('connects to exactly the address its lookup checked', async () => {
    let hits = 0;
    const port = await serve((_req, res) => {
      hits += 1;
      res.end();
    });
    const { lookup, calls } = fakeLookup(['127.0.0.1']);
    const result = await sendWebhook(`http://localhost:${port}/`, delivery, { ...local, lookup });
    expect(result.statusCode).toBe(200);
    expect(calls).toEqual(['localhost']);
    expect(hits).toBe(1);
  });

  it('refuses a name that resolves to loopback in AWS', async () => {
    const { lookup, calls } = fakeLookup(['127.0.0.1']);
    const result = await sendWebhook('https://hooks.example.com/', delivery, { ...aws, lookup });
    expect(result.error).toBe('refused address');
    expect(result.statusCode).toBeUndefined();
    expect(calls).toEqual(['hooks.example.com']);
  });

  it('always refuses a name that resolves to metadata or private addresses', async () => {
    let hits = 0;
    const port = await serve((_req, res) => {
      hits += 1;
      res.end();
    });
    for (const addresses of [
      ['169.254.169.254'],
      ['10.0.0.1'],
      ['fd00:ec2::254'],
      ['127.0.0.1', '10.0.0.1'],
    ]) {
      for (const [url, policy] of [
        ['https://hooks.example.com/', aws],
        ['https://hooks.example.com/', local],
        [`http://localhost:${port}/`, local],
      ] as const) {
        const { lookup } = fakeLookup(addresses);
        const result = await sendWebhook(url, delivery, { ...policy, lookup });
        expect(result.error, `${url} ${addresses}`).toBe('refused address');
      }
    }
    expect(hits).toBe(0);
  });

  it('refuses at send a name that was public when checked (DNS rebinding)', async () => {
    const { lookup, calls } = fakeLookup(['93.184.215.14'], ['127.0.0.1']);
    const url = 'https://rebind.example.com/hook';
    expect(await checkWebhookUrlResolved(url, { ...aws, lookup })).toMatchObject({ ok: true });
    const result = await sendWebhook(url, delivery, { ...aws, lookup });
    expect(result.error).toBe('refused address');
    expect(calls).toEqual(['rebind.example.com', 'rebind.example.com']);
  });

  it('reports a name that does not resolve', async () => {
    const lookup = async () => [];
    const result = await sendWebhook('https://nowhere.example/', delivery, { ...aws, lookup });
    expect(result.error).toBe('dns lookup failed');
  });

  it('never throws, even for headers node refuses', async () => {
    const port = await serve((_req, res) => res.end());
    const result = await sendWebhook(
      `http://127.0.0.1:${port}/`,
      { headers: { 'x-bad': 'a\nb' }, body: '' },
      local,
    );
    expect(result.error).toBe('invalid request');
  });

  it('keeps the host name for TLS: SNI, and a certificate it does not trust is refused', async () => {
    const servernames: string[] = [];
    let hits = 0;
    const server = createTlsServer(
      {
        ...TEST_TLS,
        SNICallback: (servername, callback) => {
          servernames.push(servername);
          callback(null);
        },
      },
      (_req, res) => {
        hits += 1;
        res.end();
      },
    );
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const { lookup } = fakeLookup(['127.0.0.1']);
    const result = await sendWebhook(`https://hooks.example.com:${port}/`, delivery, {
      ...local,
      lookup,
    });
    expect(result.error).toBe('tls error');
    expect(servernames).toEqual(['hooks.example.com']);
    expect(hits).toBe(0);
  });
});
