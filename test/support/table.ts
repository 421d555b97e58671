import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ensureTable } from '../../lib/local/dynamo.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { ensureProgram } from '../../lib/store/program.ts';

/**
 * A table of its own on the run's DynamoDB Local, with the default program, for tests that
 * call use cases directly (no HTTP server). The store reads its table from the environment,
 * so a test file uses one table throughout.
 */
export async function startTestTable(): Promise<string> {
  process.env.LOYALTY_TABLE = `test-${randomUUID()}`;
  process.env.DYNAMODB_ENDPOINT = inject('dynamoEndpoint');
  process.env.LOYALTY_TOKEN_SECRET ||= randomUUID();
  await ensureTable(inject('dynamoEndpoint'), tableName());
  await ensureProgram();
  return tableName();
}

/** The item stored at `key` in the test's table, read consistently (undefined: none). */
export async function storedItem(key: {
  PK: string;
  SK: string;
}): Promise<Record<string, any> | undefined> {
  return (
    await db().send(new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }))
  ).Item;
}
