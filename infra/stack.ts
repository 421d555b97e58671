import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  FilterCriteria,
  FilterRule,
  type IFunction,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import {
  authorizerFunction,
  fallbackFunction,
  jobs,
  routes,
  type TableAction,
} from '../lib/routes.ts';
import { EVENTS_PARTITION } from '../lib/store/keys.ts';
import { tableDefinition } from '../lib/store/table.ts';
import { LoyaltyApi } from './api.ts';
import { LoyaltyFunction } from './functions.ts';
import { LoyaltyMonitoring, type MonitoredJob } from './monitoring.ts';
import { applyNagChecks, arnFinding } from './nag.ts';
import { projectRoot } from './paths.ts';
import { LoyaltyTable } from './table.ts';

/** A non-negative number from context (cdk.json or `-c key=value`, which gives a string). */
function numberContext(scope: Construct, key: string, fallback: number): number {
  const raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`context ${key} must be a non-negative number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** An optional string from context; absent or empty is undefined. */
function stringContext(scope: Construct, key: string): string | undefined {
  const raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw new Error(`context ${key} must be a string`);
  return raw;
}

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/** The functions the dashboard graphs one by one: the hot paths of a till and the app. */
const BUSIEST_FUNCTIONS = ['recordPurchase', 'authorizeRedemption', 'getCustomer', 'authorizer'];

/** Environment-agnostic (no lookups), so `cdk synth` runs offline without credentials. */
export class LoyaltyStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const { table, hasIndexes } = new LoyaltyTable(this, 'Data', {
      // Optional: CloudWatch Contributor Insights on the table's most accessed keys.
      contributorInsights: stringContext(this, 'contributorInsights') === 'true',
    });

    // Signs customer tokens; generated at deploy time, never in code or in the template.
    const tokenSecret = new Secret(this, 'CustomerTokenSecret', {
      description: 'Signing secret for customer session tokens (HS256)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    NagSuppressions.addResourceSuppressions(tokenSecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'No automatic rotation yet: the functions cache the one HS256 key for the life of ' +
          'a container and verify with that key only (lib/tokens.ts), so a rotation would ' +
          'make tokens minted by fresh containers fail in warm ones. Rotation needs ' +
          'verification against the current and the previous key first; until then rotate ' +
          'by hand (put a new value, then redeploy; tokens live 1 h).',
      },
    ]);
    const needsSecret = new Set([
      ...routes.filter((r) => r.tokenSecret).map((r) => r.fn),
      authorizerFunction.fn,
    ]);

    // Webhook signing secrets are stored encrypted with this key (lib/webhooks/secrets.ts):
    // the functions that create or rotate them may Encrypt, those that sign may Decrypt.
    const webhookKeyUses = new Map(
      [...routes, ...jobs].flatMap((r) => (r.webhookKey ? [[r.fn, r.webhookKey] as const] : [])),
    );
    const webhookKey = new Key(this, 'WebhookSecretsKey', {
      description: "Encrypts webhook endpoints' signing secrets at rest",
      enableKeyRotation: true,
    });

    // Customers' export documents (usecases/exports.ts): encrypted, private, HTTPS only, and
    // gone 7 days after they are written (their export items go with them, by TTL). Links
    // to them are presigned GETs of an hour.
    const exportBucket = new Bucket(this, 'Exports', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [
        { expiration: Duration.days(7), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    NagSuppressions.addResourceSuppressions(exportBucket, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'No server access logs: they would need a bucket of their own (a stack close to ' +
          "CloudFormation's 500 resources), and every object here is written by one function " +
          'and read only through a presigned link that the export status route gives to the ' +
          'credential that requested it, which the API access logs record.',
      },
    ]);
    const bucketUses = new Map(
      [...routes, ...jobs].flatMap((r) =>
        r.exportBucket ? [[r.fn, r.exportBucket] as const] : [],
      ),
    );

    // Every function's logs, a month: one group, each function's streams named after it
    // (a group per function would be 70 more resources of the 500 a stack holds).
    const logGroup = new LogGroup(this, 'FunctionLogs', { retention: RetentionDays.ONE_MONTH });

    // Only the functions that Query GSI1 are granted `<table>/index/*`.
    const indexReaders = new Set(
      [...routes, ...jobs].filter((r) => r.queriesIndex).map((r) => r.fn),
    );

    // Files a route's function reads at run time (the API reference's renderer).
    const assets = new Map(routes.flatMap((r) => (r.assets ? [[r.fn, r.assets] as const] : [])));
    // The functions serving the merchant console get its build next to their bundle.
    const consoleFunctions = new Set(routes.filter((r) => r.console).map((r) => r.fn));

    const makeFunction = (fn: string, tableActions: readonly TableAction[], timeout?: Duration) =>
      new LoyaltyFunction(this, pascal(fn), {
        fn,
        table,
        logGroup,
        tableActions,
        includeIndexes: hasIndexes && indexReaders.has(fn),
        ...(timeout && { timeout }),
        ...(needsSecret.has(fn) && { tokenSecret }),
        ...(webhookKeyUses.has(fn) && {
          webhookKey: { key: webhookKey, use: webhookKeyUses.get(fn) as 'encrypt' | 'decrypt' },
        }),
        ...(assets.has(fn) && { assets: assets.get(fn) }),
        ...(consoleFunctions.has(fn) && { console: true }),
        ...(bucketUses.has(fn) && {
          exportBucket: { bucket: exportBucket, uses: bucketUses.get(fn) ?? [] },
        }),
      }).function;

    // One function per handler file; routes sharing a file share the union of their
    // actions. A job's function serves its route too (http/jobs.ts jobFunction): the
    // longer of the two timeouts (API Gateway still answers the route within 30 s).
    const actionsByFn = new Map<string, Set<TableAction>>();
    const timeoutSeconds = new Map<string, number>();
    const jobTimeouts = jobs.map((j) => ({ ...j, timeoutSeconds: j.timeoutSeconds ?? 60 }));
    for (const route of [...routes, ...jobTimeouts]) {
      const actions = actionsByFn.get(route.fn) ?? new Set<TableAction>();
      for (const action of route.table) actions.add(action);
      actionsByFn.set(route.fn, actions);
      if (route.timeoutSeconds !== undefined) {
        timeoutSeconds.set(
          route.fn,
          Math.max(route.timeoutSeconds, timeoutSeconds.get(route.fn) ?? 0),
        );
      }
    }
    const timeouts = new Map(
      [...timeoutSeconds].map(([fn, seconds]) => [fn, Duration.seconds(seconds)] as const),
    );
    const functions = new Map<string, IFunction>();
    for (const [fn, actions] of actionsByFn) {
      functions.set(fn, makeFunction(fn, [...actions], timeouts.get(fn)));
    }
    /** Every function of the stack, by its file name: each gets its alarms. */
    const allFunctions = new Map(functions);

    // The authorizer is on every uncached request's path: it must answer fast or not at all.
    const authorizer = makeFunction(
      authorizerFunction.fn,
      authorizerFunction.table,
      Duration.seconds(5),
    );

    const fallback = makeFunction(fallbackFunction.fn, fallbackFunction.table);
    allFunctions.set(authorizerFunction.fn, authorizer);
    allFunctions.set(fallbackFunction.fn, fallback);

    // Periodic jobs: EventBridge Scheduler invokes each job's function, retrying twice and
    // parking what still fails in a dead-letter queue.
    const jobDeadLetters = new Queue(this, 'JobDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const monitoredJobs: MonitoredJob[] = [];
    for (const job of jobs) {
      const fn = functions.get(job.fn);
      if (!fn) throw new Error(`job ${job.name}: no function ${job.fn}`);
      monitoredJobs.push({ name: job.name, fn, everyMinutes: job.everyMinutes });
      new Schedule(this, `${pascal(job.fn)}Schedule`, {
        description: `loyalty ${job.name}`,
        schedule: ScheduleExpression.rate(Duration.minutes(job.everyMinutes)),
        target: new LambdaInvoke(fn, { retryAttempts: 2, deadLetterQueue: jobDeadLetters }),
      });
      // A job that drains starts its next run itself when a run ends with work left
      // (lib/http/continuation.ts). A policy of its own, not the role's default one, which
      // the function depends on: that one naming the function's ARN would be a cycle.
      if (job.drains && fn.role) {
        new Policy(this, `${pascal(job.fn)}Continues`, {
          roles: [fn.role],
          statements: [
            new PolicyStatement({
              actions: ['lambda:InvokeFunction'],
              resources: [fn.functionArn],
            }),
          ],
        });
      }
    }
    // The schedules' roles (made by LambdaInvoke) may invoke their job's function, which
    // CDK grants as the function ARN and `<arn>:*` (its versions and aliases).
    if (monitoredJobs.length > 0) {
      NagSuppressions.addStackSuppressions(this, [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "lambda:InvokeFunction on a job function's versions and aliases (`<arn>:*`, " +
            "as Function.grantInvoke grants it), for that job's EventBridge Scheduler role " +
            'only; no other function and no other action.',
          appliesTo: monitoredJobs.map((job) => arnFinding(this, job.fn.functionArn, ':*')),
        },
      ]);
    }

    // The outbox publisher: new event items on the table's stream go to the bus, at least
    // once (partial batch failures retry from the failed record; what keeps failing is
    // parked in a queue), so an event written with its change is never lost.
    const bus = new EventBus(this, 'Events', { description: 'Loyalty programme events' });
    const publisher = new LoyaltyFunction(this, 'PublishEvents', {
      fn: 'publishEvents',
      table,
      logGroup,
      tableActions: [],
      includeIndexes: false,
      timeout: Duration.seconds(30),
      environment: { LOYALTY_EVENT_BUS: bus.eventBusName },
    }).function;
    bus.grantPutEventsTo(publisher);
    allFunctions.set('publishEvents', publisher);
    const publishFailures = new Queue(this, 'PublishDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    publisher.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 20,
        onFailure: new SqsDlq(publishFailures),
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { PK: { S: FilterRule.isEqual(EVENTS_PARTITION) } } },
          }),
        ],
      }),
    );

    // Both queues are dead-letter queues (of the schedules and of the stream's event source
    // mapping); what lands in one stays 14 days and raises an alarm.
    for (const queue of [jobDeadLetters, publishFailures]) {
      NagSuppressions.addResourceSuppressions(queue, [
        {
          id: 'AwsSolutions-SQS3',
          reason:
            'This queue is itself a dead-letter queue (EventBridge Scheduler DeadLetterConfig ' +
            'or a Lambda event source OnFailure destination, which cdk-nag does not see as ' +
            'DLQ use); nothing consumes it, so a DLQ of its own would never receive anything.',
        },
      ]);
    }

    const { stage } = new LoyaltyApi(this, 'Api', {
      routes,
      functions,
      authorizer,
      fallback,
      authorizerCacheTtl: Duration.seconds(numberContext(this, 'authorizerCacheSeconds', 60)),
      throttle: {
        rateLimit: numberContext(this, 'throttleRate', 100),
        burstLimit: numberContext(this, 'throttleBurst', 200),
      },
    });

    const monitoring = new LoyaltyMonitoring(this, 'Monitoring', {
      stage,
      functions: allFunctions,
      busiestFunctions: BUSIEST_FUNCTIONS,
      jobs: monitoredJobs,
      table,
      indexNames: tableDefinition.globalSecondaryIndexes.map((index) => index.indexName),
      deadLetterQueues: new Map([
        ['JobDeadLetters', jobDeadLetters],
        ['PublishDeadLetters', publishFailures],
      ]),
      alarmEmail: stringContext(this, 'alarmEmail'),
    });

    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Base URL of the API' });
    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'DynamoDB table' });
    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName, description: 'Event bus' });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: monitoring.topic.topicArn,
      description:
        'SNS topic every alarm notifies (subscribe to it, or deploy with -c alarmEmail=...)',
    });
    new CfnOutput(this, 'DashboardName', {
      value: monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard',
    });
  }
}

/** The context in cdk.json (feature flags, defaults), so tests synthesize what the CLI does. */
function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/**
 * The app with its one stack. `context` overrides cdk.json; under the CDK CLI, `-c` values
 * still win over both. Tests pass `{ 'aws:cdk:bundling-stacks': [] }` to skip esbuild.
 */
export function buildApp(context: Record<string, unknown> = {}): {
  app: App;
  stack: LoyaltyStack;
} {
  const app = new App({ context: { ...cdkJsonContext(), ...context } });
  const stack = new LoyaltyStack(app, 'LoyaltyStack', {
    description: 'Loyalty points API: HTTP API, Lambda functions, DynamoDB table',
  });
  applyNagChecks(app);
  return { app, stack };
}
