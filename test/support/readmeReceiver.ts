import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/local/dynamo.ts';

/** The README's webhook receiver (its only ```js block), as written. */
export const readmeReceiverSource = (() => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map(([, body]) => body as string);
  const found = blocks.filter((b) => b.includes('loyalty-signature'));
  if (found.length !== 1) throw new Error(`the README has ${found.length} receiver blocks`);
  return found[0] as string;
})();

/** Writes the README's receiver into a directory of its own: `receiver.mjs`. */
export function readmeReceiverDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'readme-receiver-'));
  writeFileSync(join(dir, 'receiver.mjs'), readmeReceiverSource);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The README's receiver running with `secret`, on a free loopback port. */
export async function startReadmeReceiver(secret: string): Promise<{
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}> {
  const { dir, remove } = readmeReceiverDir();
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(dir, 'receiver.mjs')], {
    env: { ...process.env, WEBHOOK_SECRET: secret, HOOK_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c) => (output += c));
  child.stderr?.on('data', (c) => (output += c));
  const url = `http://127.0.0.1:${port}/hooks`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    remove();
  };
  for (let i = 0; ; i++) {
    try {
      await fetch(url, { method: 'POST', body: '{}' });
      break;
    } catch {
      if (i > 100 || child.exitCode !== null) {
        await stop();
        throw new Error(`the README receiver did not start: ${output}`);
      }
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  return { url, output: () => output, stop };
}
