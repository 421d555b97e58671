import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Continuation, continueLocally } from '../http/continuation.ts';
import { jobs } from '../routes.ts';
import { db, tableName } from '../store/client.ts';
import { ensureProgram } from '../store/program.ts';
import { ensureAdminKey } from '../usecases/apiKeys.ts';
import { type DynamoLocal, ensureTable, startDynamoLocal } from './dynamo.ts';
import { startHttpServer } from './server.ts';

export interface LocalApiOptions {
  port: number;
  host?: string;
  tableName?: string;
  /** Use this DynamoDB (tests share one); otherwise DynamoDB Local is started. */
  dynamoEndpoint?: string;
  /** Where DynamoDB Local keeps its data; in memory when undefined. */
  dataDir?: string;
  adminKey?: string;
  /** How long an authorizer answer is cached per credential, as in AWS (default 60 s). */
  authorizerCacheSeconds?: number;
  /** Run the periodic jobs on their schedules (npm start does; tests call the job routes). */
  runJobs?: boolean;
}

export interface LocalApi {
  url: string;
  port: number;
  dynamoEndpoint: string;
  /** Set when no admin key existed and one was generated: shown once. */
  generatedAdminKey?: string;
  /**
   * When this API started its own DynamoDB Local: resolves (with how) if that JVM exits
   * while the API runs, after which every data route would fail.
   */
  dynamoLost?: Promise<string>;
  stop(): Promise<void>;
}

const BOOTSTRAP = { PK: 'BOOTSTRAP', SK: 'BOOTSTRAP' };

/**
 * The customer-token signing secret: made once per data directory (kept beside the
 * database, readable by its owner only), or per start when nothing is on disk.
 */
function tokenSecret(dataDir: string | undefined): string {
  if (!dataDir) return randomBytes(32).toString('base64url');
  const file = join(dataDir, 'token-secret');
  if (!existsSync(file))
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * Where customers' export documents go (exports/files.ts): `exports/` in the data directory
 * (mode 700, its files 600), or a directory of this start's own when nothing is on disk,
 * removed at stop. LOYALTY_EXPORT_DIR, if set, is used as it is.
 */
function exportDir(dataDir: string | undefined): { dir: string; temporary: boolean } {
  const given = process.env.LOYALTY_EXPORT_DIR;
  if (given) return { dir: given, temporary: false };
  if (!dataDir) return { dir: mkdtempSync(join(tmpdir(), 'loyalty-exports-')), temporary: true };
  const dir = join(dataDir, 'exports');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, temporary: false };
}

/** An admin key exists after start: the given one, or one generated on first start. */
async function bootstrapAdminKey(adminKey: string | undefined): Promise<string | undefined> {
  if (adminKey) {
    await ensureAdminKey(adminKey);
    return undefined;
  }
  const { Item } = await db().send(new GetCommand({ TableName: tableName(), Key: BOOTSTRAP }));
  if (Item) return undefined;
  const generated = `lk_${randomBytes(32).toString('base64url')}`;
  await ensureAdminKey(generated);
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...BOOTSTRAP, at: new Date().toISOString() },
    }),
  );
  return generated;
}

/**
 * The local stand-in for EventBridge Scheduler: each job's own function on a timer, and
 * once shortly after start, so a daily job also runs on a laptop that is restarted daily.
 */
function scheduleJobs(stopped: () => boolean): NodeJS.Timeout[] {
  // A job run that stopped with work left asks for its next run (http/continuation.ts):
  // it starts as soon as this one ends.
  const again = new Map<string, Continuation>();
  continueLocally((name, next) => again.set(name, next));
  return jobs.flatMap((job) => {
    let running = false;
    const run = async (event?: Continuation) => {
      // A run still going when the next is due: that one is skipped (the job carries on).
      if (running) return;
      running = true;
      try {
        const { handler } = (await import(`../../functions/${job.fn}.ts`)) as {
          handler: (event?: Continuation) => Promise<unknown>;
        };
        await handler(event);
      } catch (error) {
        // A run the stop cut short (its database gone under it) failed nothing: it reruns.
        if (!stopped()) console.error(`loyalty: job ${job.name} failed:`, (error as Error).message);
      } finally {
        running = false;
        const next = again.get(job.name);
        again.delete(job.name);
        if (next && !stopped()) setImmediate(() => run(next));
      }
    };
    // LOYALTY_<JOB>_MINUTES (e.g. LOYALTY_LAPSE_SCAN_MINUTES) sets any job's local period.
    const override = `LOYALTY_${job.name.toUpperCase().replaceAll('-', '_')}_MINUTES`;
    const periodMs =
      Number(process.env[override]) * 60_000 ||
      (job.localEverySeconds !== undefined
        ? job.localEverySeconds * 1_000
        : (job.localEveryMinutes ?? job.everyMinutes) * 60_000);
    const timers = [setTimeout(run, Math.min(5_000, periodMs)), setInterval(run, periodMs)];
    for (const timer of timers) timer.unref();
    return timers;
  });
}

/**
 * The whole API on one machine: DynamoDB Local, the table, the default program, an
 * admin key, and the HTTP server calling the Lambda handlers.
 */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  let dynamo: DynamoLocal | undefined;
  if (!options.dynamoEndpoint) dynamo = await startDynamoLocal({ dataDir: options.dataDir });
  const endpoint = options.dynamoEndpoint ?? (dynamo as DynamoLocal).endpoint;
  let exportFiles: { dir: string; temporary: boolean } | undefined;
  try {
    process.env.LOYALTY_TABLE = options.tableName ?? 'loyalty';
    process.env.DYNAMODB_ENDPOINT = endpoint;
    process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    process.env.LOYALTY_TOKEN_SECRET ||= tokenSecret(options.dataDir);
    exportFiles = exportDir(options.dataDir);
    process.env.LOYALTY_EXPORT_DIR = exportFiles.dir;
    await ensureTable(endpoint, tableName());
    await ensureProgram();
    const generatedAdminKey = await bootstrapAdminKey(options.adminKey);
    const server = await startHttpServer(
      options.port,
      options.host,
      options.authorizerCacheSeconds,
    );
    // Links to export documents point at this server (exports/files.ts).
    process.env.LOYALTY_EXPORT_LINK_BASE = server.url;
    let stopping = false;
    const timers = options.runJobs ? scheduleJobs(() => stopping) : [];
    return {
      url: server.url,
      port: server.port,
      dynamoEndpoint: endpoint,
      ...(generatedAdminKey && { generatedAdminKey }),
      ...(dynamo && { dynamoLost: dynamo.lost }),
      stop: async () => {
        stopping = true;
        continueLocally(undefined);
        for (const timer of timers) clearInterval(timer);
        await server.close();
        await dynamo?.stop();
        if (exportFiles?.temporary) rmSync(exportFiles.dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await dynamo?.stop();
    if (exportFiles?.temporary) rmSync(exportFiles.dir, { recursive: true, force: true });
    throw error;
  }
}
