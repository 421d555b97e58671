/**
 * `npm start`: the API on PORT (default 3000) over an embedded DynamoDB Local.
 * LOYALTY_ADMIN_KEY, LOYALTY_DATA_DIR (default .loyalty/) and LOYALTY_IN_MEMORY=1
 * are described in the README.
 */
import { StartupError } from './dynamo.ts';
import { startLocalApi } from './runtime.ts';
import { buildConsole } from './server.ts';

const port = Number(process.env.PORT ?? 3000);
const inMemory = process.env.LOYALTY_IN_MEMORY === '1';
const dataDir = process.env.LOYALTY_DATA_DIR ?? '.loyalty';

function fail(message: string): never {
  console.error(`loyalty: ${message}`);
  process.exit(1);
}

if (!Number.isInteger(port) || port < 0 || port > 65535)
  fail(`PORT=${process.env.PORT} is not a port number`);

const authorizerCacheSeconds = Number(process.env.LOYALTY_AUTHORIZER_CACHE_SECONDS ?? 60);
if (!Number.isInteger(authorizerCacheSeconds) || authorizerCacheSeconds < 0)
  fail(
    `LOYALTY_AUTHORIZER_CACHE_SECONDS=${process.env.LOYALTY_AUTHORIZER_CACHE_SECONDS} is not a whole number of seconds`,
  );

try {
  const api = await startLocalApi({
    port,
    host: process.env.HOST ?? '127.0.0.1',
    runJobs: true,
    authorizerCacheSeconds,
    ...(!inMemory && { dataDir }),
    ...(process.env.LOYALTY_ADMIN_KEY && { adminKey: process.env.LOYALTY_ADMIN_KEY }),
  });
  // One write: whoever waits for "listening on" (a terminal, a test) has the key too.
  console.log(
    [
      ...(api.generatedAdminKey
        ? [
            `admin key (shown once; set LOYALTY_ADMIN_KEY to choose your own): ${api.generatedAdminKey}`,
          ]
        : []),
      `loyalty API listening on ${api.url}/v1 (DynamoDB Local: ${inMemory ? 'in memory' : dataDir})`,
      `merchant console: ${api.url}/console/ (sign in with an admin key)`,
    ].join('\n'),
  );
  // Built now rather than on the first visit; a console that does not build leaves the API up.
  buildConsole().catch((error: unknown) =>
    console.error(`loyalty: the console did not build: ${(error as Error).message}`),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`loyalty: ${signal}, stopping`);
    await api.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Without its database the API could only answer errors: stop, and say why.
  void api.dynamoLost?.then(async (how) => {
    if (stopping) return;
    stopping = true;
    console.error(`loyalty: DynamoDB Local stopped unexpectedly (${how}); stopping`);
    await api.stop();
    process.exit(1);
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    fail(`port ${port} is in use: stop what uses it, or start with PORT=<another port>`);
  if (code === 'EACCES') fail(`port ${port} needs privileges: start with PORT=3000 or above 1024`);
  if (error instanceof StartupError) fail(error.message);
  // A file-system refusal (permissions, a read-only disk) is one line too.
  if (code) fail((error as Error).message);
  throw error;
}
