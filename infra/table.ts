import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { tableDefinition } from '../lib/store/table.ts';

const stringKey = (name: string) => ({ name, type: AttributeType.STRING });

/**
 * The single table, built from the same definition DynamoDB Local gets. It holds the
 * ledger, so it is never deleted by a stack update or a `cdk destroy`.
 */
export class LoyaltyTable extends Construct {
  readonly table: Table;
  /** Whether any GSI exists, so Query grants also need `<table>/index/*`. */
  readonly hasIndexes: boolean;

  constructor(scope: Construct, id: string, props: { contributorInsights?: boolean } = {}) {
    super(scope, id);
    const { partitionKey, sortKey, timeToLiveAttribute, globalSecondaryIndexes } = tableDefinition;
    this.table = new Table(this, 'Table', {
      partitionKey: stringKey(partitionKey),
      sortKey: stringKey(sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      timeToLiveAttribute,
      // New items only: the outbox publisher reads the events from the stream.
      stream: StreamViewType.NEW_IMAGE,
      contributorInsightsSpecification: { enabled: props.contributorInsights === true },
    });
    for (const index of globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        projectionType: index.keysOnly
          ? ProjectionType.KEYS_ONLY
          : index.include
            ? ProjectionType.INCLUDE
            : ProjectionType.ALL,
        ...(index.include && { nonKeyAttributes: [...index.include] }),
      });
    }
    this.hasIndexes = globalSecondaryIndexes.length > 0;
  }
}
