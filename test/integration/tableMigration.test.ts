import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { ensureTable } from '../../lib/local/dynamo.ts';
import { createTableInput, tableDefinition } from '../../lib/store/table.ts';

describe('a data directory from an older version', () => {
  it('gets the indexes added since, with their projections', async () => {
    const endpoint = inject('dynamoEndpoint');
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const TableName = `old-${randomUUID()}`;
    const current = createTableInput(TableName);
    // The table as it was before the lifecycle: GSI1 only.
    await client.send(
      new CreateTableCommand({
        ...current,
        AttributeDefinitions: current.AttributeDefinitions?.filter((a) =>
          ['PK', 'SK', 'GSI1PK', 'GSI1SK'].includes(a.AttributeName as string),
        ),
        GlobalSecondaryIndexes: current.GlobalSecondaryIndexes?.filter(
          (i) => i.IndexName === 'GSI1',
        ),
      }),
    );
    await ensureTable(endpoint, TableName);
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    const indexes = Object.fromEntries(
      (Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i.Projection?.ProjectionType]),
    );
    expect(Object.keys(indexes).sort()).toEqual(
      tableDefinition.globalSecondaryIndexes.map((i) => i.indexName).sort(),
    );
    expect(indexes).toMatchObject({ LapseDue: 'KEYS_ONLY', Lapsed: 'INCLUDE', GSI1: 'ALL' });
    // And a second start changes nothing.
    await ensureTable(endpoint, TableName);
    client.destroy();
  });
});
