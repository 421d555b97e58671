import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';
import { defaultProgram, type Program, withDefaults } from '../domain/program.ts';
import { db, tableName, writeIf } from './client.ts';
import { keys } from './keys.ts';

/**
 * The program is read on every purchase, so each function keeps it in memory for
 * `programCacheMs` (30 s by default): a PUT reaches every function within that time.
 */
let cached: { program: Program; until: number } | undefined;

export async function getProgram(now = Date.now()): Promise<Program> {
  if (cached && cached.until > now) return cached.program;
  const { Item } = await db().send(new GetCommand({ TableName: tableName(), Key: keys.program() }));
  const program = Item?.program ? withDefaults(Item.program as Program) : defaultProgram;
  cached = { program, until: now + config().programCacheMs };
  return program;
}

export async function putProgram(program: Program, now = new Date()): Promise<void> {
  await db().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.program(), program, updatedAt: now.toISOString() },
    }),
  );
  cached = { program, until: now.getTime() + config().programCacheMs };
}

/** Writes the default program unless one exists (local start-up and first deploys). */
export async function ensureProgram(now = new Date()): Promise<void> {
  await writeIf(
    new PutCommand({
      TableName: tableName(),
      Item: { ...keys.program(), program: defaultProgram, updatedAt: now.toISOString() },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export function forgetCachedProgram(): void {
  cached = undefined;
}
