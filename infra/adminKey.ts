/**
 * Creates an admin API key in a deployed stack's table, with your AWS credentials, and
 * prints it once (only its hash is stored). The first key of a deployment comes from
 * here; every later key is made through POST /v1/api-keys with an admin key.
 *
 *   npm run admin-key -- --table <TableName output> [--region eu-west-1] [--name "ops"]
 */
import { parseArgs } from 'node:util';
import { createApiKey } from '../lib/usecases/apiKeys.ts';

const { values } = parseArgs({
  options: {
    table: { type: 'string' },
    region: { type: 'string' },
    name: { type: 'string', default: 'first admin (npm run admin-key)' },
  },
});

if (!values.table) {
  console.error(
    'usage: npm run admin-key -- --table <TableName> [--region <region>] [--name <name>]',
  );
  process.exit(2);
}
process.env.LOYALTY_TABLE = values.table;
if (values.region) process.env.AWS_REGION = values.region;

try {
  const key = await createApiKey({ role: 'admin', name: values.name as string });
  console.log(`admin key ${key.id} created; store it now, it is not shown again:\n${key.key}`);
} catch (error) {
  console.error(`admin-key: ${(error as Error).name}: ${(error as Error).message}`);
  process.exit(1);
}
