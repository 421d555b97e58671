import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { problemResponse } from '../../lib/http/problem.ts';
import { dynamoLocalCommand, freePort, startDynamoLocal } from '../../lib/local/dynamo.ts';
import { isDynamoLocalFor, LOCK_FILE, type LockOwner, processStart } from '../../lib/local/lock.ts';

/**
 * The local runtime's safety: DynamoDB Local reachable from this host only, a private
 * data directory, one `npm start` (and one JVM) per data directory, and no API left
 * answering without its database. Real processes, real DynamoDB Local.
 */
const dirs: string[] = [];
const children: ChildProcess[] = [];
const newDir = () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'loyalty-runtime-')));
  dirs.push(dir);
  return dir;
};

/** DynamoDB Local JVMs serving `dir`, from /proc. */
const jvmsFor = (dir: string) =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => isDynamoLocalFor(pid, dir));

const alive = (pid: number) => processStart(pid) !== undefined;

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  // SIGTERM, which tsx passes on to main.ts; killing a JVM also stops its main.ts.
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  for (const dir of dirs) {
    for (const pid of jvmsFor(dir)) process.kill(pid, 'SIGKILL');
    await until('the JVMs are gone', () => jvmsFor(dir).length === 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** lib/local/main.ts, as `npm start` runs it. */
function start(env: Record<string, string>) {
  const child = spawn(join('node_modules', '.bin', 'tsx'), ['lib/local/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c) => (output += c));
  child.stderr?.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const waitFor = (text: string) =>
    until(`"${text}" in ${output}`, () => output.includes(text), 90_000);
  return { child, output: () => output, exited, waitFor };
}

const readLock = (dir: string) =>
  JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockOwner;

/** Listening sockets on `port`, as local addresses, from /proc/net/tcp and tcp6. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6'])
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hexPort}`))
        found.push(local.split(':')[0] as string);
    }
  return found;
}
// 127.0.0.1 as /proc/net/tcp writes it, and as an IPv4-mapped address in tcp6.
const LOOPBACK = new Set(['0100007F', '0000000000000000FFFF00000100007F']);

function connectCode(host: string, port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      done('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      done('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('DynamoDB Local', () => {
  it('listens on 127.0.0.1 only, keeps its data directory private, and unlocks it on stop', async () => {
    const dir = newDir();
    // A file from before (say, an older version's) gets tightened too.
    writeFileSync(join(dir, 'token-secret'), 'x', { mode: 0o644 });
    const dynamo = await startDynamoLocal({ dataDir: dir });
    try {
      const port = Number(new URL(dynamo.endpoint).port);
      const client = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
      });
      expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      client.destroy();

      const bound = listeners(port);
      expect(bound.length).toBeGreaterThan(0);
      for (const address of bound) expect(LOOPBACK.has(address)).toBe(true);

      // This machine's own non-loopback addresses (traffic to them stays on this host).
      const own = Object.values(networkInterfaces())
        .flat()
        .filter((a) => a && a.family === 'IPv4' && !a.internal)
        .map((a) => a?.address as string);
      for (const address of own) {
        // The address does take connections where something listens on every interface...
        const control = createServer((s) => s.destroy()).listen(0, '0.0.0.0');
        await new Promise((r) => control.once('listening', r));
        const controlPort = (control.address() as { port: number }).port;
        expect(await connectCode(address, controlPort)).toBe('connected');
        control.close();
        // ...and refuses DynamoDB Local's port.
        expect(await connectCode(address, port)).toBe('ECONNREFUSED');
      }
      expect(await connectCode('127.0.0.1', port)).toBe('connected');

      expect(modeOf(dir)).toBe('700');
      const files = readdirSync(dir);
      expect(files).toEqual(
        expect.arrayContaining([
          'shared-local-instance.db',
          'token-secret',
          LOCK_FILE,
          'dynamodb-local.lock',
        ]),
      );
      for (const file of files) expect([file, modeOf(join(dir, file))]).toEqual([file, '600']);
      expect(readLock(dir)).toMatchObject({ nodePid: process.pid, javaPid: dynamo.pid });
    } finally {
      await dynamo.stop();
    }
    expect(alive(dynamo.pid)).toBe(false);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 120_000);

  it('a refused connection is a 503 service-unavailable with retry-after, not a 500', async () => {
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const error = await client.send(new ListTablesCommand({})).catch((e: unknown) => e);
    client.destroy();
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    const response = problemResponse(error, '/v1/customers');
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('1');
    expect(JSON.parse(response.body as string)).toMatchObject({ code: 'service-unavailable' });
  });
});

describe('npm start on a data directory', () => {
  const adminKey = 'runtime-test-admin-key-0123456789';

  it('survives kill -9, refuses a second start, stops when its JVM dies, and stops an orphan', async () => {
    const dir = newDir();
    const env = () => ({ LOYALTY_DATA_DIR: dir, LOYALTY_ADMIN_KEY: adminKey });

    // 1. A start, some data, then kill -9 of its node: the JVM does not outlive it.
    let port = await freePort();
    const first = start({ ...env(), PORT: String(port) });
    await first.waitFor('listening on');
    const created = await fetch(`http://127.0.0.1:${port}/v1/customers`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ externalId: 'survives-kill-9' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // The lock names the node running main.ts (tsx runs it as a child of its own).
    const { nodePid: firstNode, javaPid: firstJvm } = readLock(dir) as Required<LockOwner>;
    expect(jvmsFor(dir)).toEqual([firstJvm]);
    process.kill(firstNode, 'SIGKILL');
    await first.exited;
    await until('the JVM of the killed node exits', () => !alive(firstJvm));

    // 2. The next start takes over the stale lock; the data is there; one JVM serves.
    port = await freePort();
    const second = start({ ...env(), PORT: String(port) });
    await second.waitFor('listening on');
    const secondJvm = readLock(dir).javaPid as number;
    const secondNode = readLock(dir).nodePid;
    expect(secondNode).not.toBe(firstNode);
    expect(jvmsFor(dir)).toEqual([secondJvm]);
    const found = await fetch(`http://127.0.0.1:${port}/v1/customers/${id}`, {
      headers: { 'x-api-key': adminKey },
    });
    expect(found.status).toBe(200);

    // 3. A second start on the same directory is refused in one line; the first serves on.
    const refused = start({ ...env(), PORT: String(await freePort()) });
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain(
      `loyalty: ${dir} is in use by another npm start (pid ${secondNode})`,
    );
    expect(refused.output()).not.toMatch(/\n\s+at /);
    expect(jvmsFor(dir)).toEqual([secondJvm]);
    const still = await fetch(`http://127.0.0.1:${port}/v1/customers/${id}`, {
      headers: { 'x-api-key': adminKey },
    });
    expect(still.status).toBe(200);

    // 4. Its JVM killed, node says so in one line and exits non-zero, unlocking the dir.
    process.kill(secondJvm, 'SIGKILL');
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(
      'loyalty: DynamoDB Local stopped unexpectedly (killed by SIGKILL); stopping',
    );
    expect(second.output()).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);

    // 5. An orphan: a DynamoDB Local on the directory whose node died without stopping it
    // (its stdin kept open elsewhere), with that node's stale lock. The next start stops it.
    const { args, cwd } = dynamoLocalCommand(dir);
    const quoted = ['java', ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    // Its stdin is the pipe on fd 3, which this test holds open (node closes a child's
    // stdin when the child, here sh, exits).
    const orphan = spawn('sh', ['-c', `${quoted} <&3 3<&- & echo "pid $!"`], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    children.push(orphan);
    let orphanOutput = '';
    orphan.stdout?.on('data', (c) => (orphanOutput += c));
    await until('the orphan listens', () => orphanOutput.includes('listening on'), 90_000);
    const orphanJvm = Number(/pid (\d+)/.exec(orphanOutput)?.[1]);
    expect(jvmsFor(dir)).toEqual([orphanJvm]);
    const deadNode = spawn('true');
    await new Promise((r) => deadNode.once('exit', r));
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ nodePid: deadNode.pid as number, javaPid: orphanJvm } satisfies LockOwner),
    );

    port = await freePort();
    const third = start({ ...env(), PORT: String(port) });
    await third.waitFor('listening on');
    expect(third.output()).toContain(`stopped DynamoDB Local pid ${orphanJvm}`);
    expect(alive(orphanJvm)).toBe(false);
    expect(jvmsFor(dir)).toEqual([readLock(dir).javaPid]);
    const again = await fetch(`http://127.0.0.1:${port}/v1/customers/${id}`, {
      headers: { 'x-api-key': adminKey },
    });
    expect(again.status).toBe(200);
    (orphan.stdio[3] as NodeJS.WritableStream).end();

    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    expect(jvmsFor(dir)).toEqual([]);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 300_000);

  it('of two starts at once on one directory, one serves and the other is refused', async () => {
    const dir = newDir();
    const runs = [0, 1].map(() =>
      start({ LOYALTY_DATA_DIR: dir, LOYALTY_ADMIN_KEY: adminKey, PORT: '0' }),
    );
    const outcome = await Promise.race(
      runs.map((run, i) => run.exited.then((code) => ({ i, code }))),
    );
    expect(outcome.code).toBe(1);
    expect(runs[outcome.i]?.output()).toContain(`loyalty: ${dir} is in use by another npm start`);
    const winner = runs[1 - outcome.i] as ReturnType<typeof start>;
    await winner.waitFor('listening on');
    expect(jvmsFor(dir)).toHaveLength(1);
    winner.child.kill('SIGINT');
    expect(await winner.exited).toBe(0);
    expect(jvmsFor(dir)).toEqual([]);
  }, 120_000);
});
