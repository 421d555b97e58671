import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver for tests: a real HTTP server on 127.0.0.1. */
export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** A receiver on 127.0.0.1: records every request; `answer` decides what it answers. */
export async function receiver(
  answer: (req: Received, i: number) => number | 'hang' = () => 200,
): Promise<{ url: string; got: Received[]; close: () => Promise<void>; server: Server }> {
  const got: Received[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const received = { headers: req.headers, body, at: Date.now() };
      got.push(received);
      const status = answer(received, got.length);
      if (status === 'hang') {
        open.add(res);
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    got,
    server,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
