import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/local/dynamo.ts';
import { javaProcessesFor, startNpm, waitFor } from '../support/npmStart.ts';

/**
 * `npm start` itself (lib/local/main.ts) as a child process: it prints where it listens,
 * keeps data across a restart, and leaves no Java process behind on Ctrl-C.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'loyalty-start-'));
const adminKey = 'startup-test-admin-key-0123456789';
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const start = (env: Record<string, string>) => startNpm(env);

describe('npm start', () => {
  it('serves, stops on SIGINT without leaving Java behind, and keeps data across a restart', async () => {
    const port = await freePort();
    const env = { PORT: String(port), LOYALTY_DATA_DIR: dataDir, LOYALTY_ADMIN_KEY: adminKey };
    const first = start(env);
    await waitFor(first.output, `listening on http://127.0.0.1:${port}`);
    const created = await fetch(`http://127.0.0.1:${port}/v1/customers`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ externalId: 'survives-restart' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(javaProcessesFor(dataDir)).toBe('');

    const second = start(env);
    await waitFor(second.output, 'listening on');
    const found = await fetch(`http://127.0.0.1:${port}/v1/customers/${id}`, {
      headers: { 'x-api-key': adminKey },
    });
    expect(found.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(javaProcessesFor(dataDir)).toBe('');
  }, 180_000);

  it('stops it all when SIGTERM reaches npm alone (`npm start &` then `kill %1`)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loyalty-npm-'));
    try {
      const port = await freePort();
      const npm = spawn('npm', ['start'], {
        env: { ...process.env, PORT: String(port), LOYALTY_DATA_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      npm.stdout?.on('data', (c) => (output += c));
      npm.stderr?.on('data', (c) => (output += c));
      const exited = new Promise((done) => npm.once('exit', done));
      await waitFor(() => output, `listening on http://127.0.0.1:${port}`);
      expect(javaProcessesFor(dir)).not.toBe('');
      // npm runs the script through sh, which would pass the signal on to nobody: the
      // script execs the server, so npm's forwarded SIGTERM reaches it.
      npm.kill('SIGTERM');
      await exited;
      await waitFor(() => output, 'SIGTERM, stopping', 10_000);
      const deadline = Date.now() + 15_000;
      while (javaProcessesFor(dir) !== '' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(javaProcessesFor(dir)).toBe('');
      await expect(fetch(`http://127.0.0.1:${port}/v1/health`)).rejects.toThrow();
    } finally {
      // Whatever a failure left running (the server and its Java both name the directory).
      spawnSync('pkill', ['-f', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('prints a generated admin key once when none is given, in memory', async () => {
    const port = await freePort();
    const run = start({ PORT: String(port), LOYALTY_IN_MEMORY: '1', LOYALTY_ADMIN_KEY: '' });
    await waitFor(run.output, 'listening on');
    const key = /admin key \(shown once[^:]*\): (\S+)/.exec(run.output())?.[1];
    expect(key).toMatch(/^lk_/);
    const res = await fetch(`http://127.0.0.1:${port}/v1/stores`, {
      headers: { 'x-api-key': key as string },
    });
    expect(res.status).toBe(200);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  }, 120_000);

  it('says in one line what to do when the port is in use', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const { port } = blocker.address() as { port: number };
    const run = start({ PORT: String(port), LOYALTY_IN_MEMORY: '1' });
    expect(await run.exited).toBe(1);
    blocker.close();
    expect(run.output()).toContain(`loyalty: port ${port} is in use`);
    expect(run.output()).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('says in one line that Java is needed when it is missing', async () => {
    // node_modules/.bin has node and tsx but no java.
    const run = start({
      PATH: join(process.cwd(), 'node_modules', '.bin'),
      LOYALTY_IN_MEMORY: '1',
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('loyalty: Java was not found on PATH');
    expect(run.output()).not.toMatch(/\n\s+at /);
  }, 60_000);
});
