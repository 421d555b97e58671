import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type DeleteCommand,
  DynamoDBDocumentClient,
  type PutCommand,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { config } from '../config.ts';

/** Called once per DynamoDB request, failed or not (benchmarks count calls with it); output is undefined for a failure. */
export type DynamoCallListener = (command: string, input: unknown, output: unknown) => void;

const listeners: DynamoCallListener[] = [];

export function onDynamoCall(listener: DynamoCallListener): () => void {
  listeners.push(listener);
  return () => listeners.splice(listeners.indexOf(listener), 1);
}

let client: DynamoDBDocumentClient | undefined;

export function db(): DynamoDBDocumentClient {
  if (client) return client;
  const { dynamoEndpoint, region } = config();
  const base = new DynamoDBClient({
    region,
    ...(dynamoEndpoint && {
      endpoint: dynamoEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
  base.middlewareStack.add(
    (next, context) => async (args) => {
      // Failed calls (lost conditional writes, cancelled transactions) count too.
      let output: unknown;
      try {
        const result = await next(args);
        output = result.output;
        return result;
      } finally {
        for (const listener of listeners) {
          listener(context.commandName ?? 'unknown', args.input, output);
        }
      }
    },
    { step: 'initialize', name: 'loyaltyCallListeners' },
  );
  client = DynamoDBDocumentClient.from(base, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return client;
}

export const tableName = () => config().tableName;

/**
 * Sends a conditional write: true if it was applied, false if its condition did not hold
 * (another writer was first, or what it expected has moved on). Any other failure throws.
 */
export async function writeIf(
  command: PutCommand | UpdateCommand | DeleteCommand,
): Promise<boolean> {
  try {
    // send is typed per command; a union of three is none of its overloads.
    await db().send(command as PutCommand);
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
