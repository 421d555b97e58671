import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ITable, Operation } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface MonitoredJob {
  /** The job's name in lib/routes.ts (`release-holds`). */
  name: string;
  /** The function its schedule invokes (and nothing else invokes). */
  fn: IFunction;
  everyMinutes: number;
}

export interface LoyaltyMonitoringProps {
  /** The API's stage: its metrics carry the dimensions ApiId and Stage. */
  stage: IHttpStage;
  /** Every function of the stack, by its file in functions/. */
  functions: ReadonlyMap<string, IFunction>;
  /** The functions the dashboard graphs one by one (the busiest paths). */
  busiestFunctions: readonly string[];
  jobs: readonly MonitoredJob[];
  table: ITable;
  /** The table's global secondary indexes: their throttle events count too. */
  indexNames: readonly string[];
  /** Every dead-letter queue of the stack, by a name for alarms and the dashboard. */
  deadLetterQueues: ReadonlyMap<string, IQueue>;
  /** Subscribed to the alarm topic by email (the address must confirm). */
  alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
/** CloudWatch evaluates an alarm on at most 10 metrics. */
const MAX_ALARM_METRICS = 10;
/** Functions per errors-or-throttles alarm: two metrics each. */
const FUNCTIONS_PER_ALARM = MAX_ALARM_METRICS / 2;
/** The operations the functions call (transactions are TransactWriteItems). */
const TABLE_OPERATIONS = [
  Operation.GET_ITEM,
  Operation.BATCH_GET_ITEM,
  Operation.QUERY,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
];

/** `release-holds` → `ReleaseHolds`, `getCustomer` → `GetCustomer`, for construct ids. */
const pascal = (name: string) =>
  name.replace(/(^|-)([a-zA-Z])/g, (_match, _dash, letter: string) => letter.toUpperCase());

/** The sum of some metrics, a missing point counting as 0 (so one quiet metric is no gap). */
function sumOf(label: string, metrics: readonly IMetric[]): MathExpression {
  if (metrics.length > MAX_ALARM_METRICS) {
    throw new Error(`${label}: ${metrics.length} metrics, an alarm takes ${MAX_ALARM_METRICS}`);
  }
  // Ids unique across the expressions a graph shows together.
  const prefix = label.toLowerCase().replace(/[^a-z0-9]/g, '');
  const usingMetrics = Object.fromEntries(metrics.map((m, i) => [`${prefix}${i}`, m]));
  return new MathExpression({
    label,
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period: FIVE_MINUTES,
  });
}

/**
 * Alarms on what should page someone, all to one SNS topic, and one dashboard: the API's
 * error rate and latency, every function's errors and throttles, the table's throttling
 * and system errors, anything parked in a dead-letter queue, and a scheduled job that did
 * not run.
 */
export class LoyaltyMonitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  /** Alarm names start with it (the stack name), so the topic can trust exactly these. */
  private readonly prefix: string;
  private readonly action: SnsAction;
  private readonly functionAlarms = new Set<Alarm>();

  constructor(scope: Construct, id: string, props: LoyaltyMonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.prefix = stack.stackName;

    // Not KMS-encrypted: it carries alarm names, states and metric values, no customer
    // data, and CloudWatch cannot publish to a topic under the AWS-managed SNS key.
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `${this.prefix} alarms`,
      enforceSSL: true,
    });
    // The topic's policy (made for enforceSSL) replaces SNS's default one, which is what
    // lets CloudWatch publish: so allow this account's alarms of this stack explicitly.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisStacksAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${this.prefix}-*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    if (props.alarmEmail !== undefined) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
        throw new Error(`alarmEmail is not an email address: ${JSON.stringify(props.alarmEmail)}`);
      }
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    }
    this.action = new SnsAction(this.topic);

    // API: 5xx rate and p99 latency of the $default stage.
    const { stage } = props;
    const requests = stage.metricCount({ statistic: 'Sum', period: FIVE_MINUTES });
    const serverErrors = stage.metricServerError({ period: FIVE_MINUTES });
    const clientErrors = stage.metricClientError({ period: FIVE_MINUTES });
    const errorRate = new MathExpression({
      label: '5xx rate (%)',
      expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      period: FIVE_MINUTES,
    });
    const latency = (statistic: string) =>
      stage.metricLatency({ statistic, period: FIVE_MINUTES, label: `latency ${statistic}` });
    this.alarm('Api5xxRate', 'api-5xx-rate', errorRate, {
      threshold: 1,
      description:
        'More than 1% of API requests answered 5xx over 5 minutes. Look at the access log ' +
        '(status, integrationError, authorizerError) and the functions with errors.',
    });
    this.alarm('ApiLatencyP99', 'api-latency-p99', latency('p99'), {
      threshold: 1000,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description:
        'API p99 latency above 1 s in 2 of the last 3 five-minute periods. Compare ' +
        'integrationLatency in the access log and the functions’ duration.',
    });

    // Every function: any error or throttle. One alarm per FUNCTIONS_PER_ALARM functions
    // (their Errors and Throttles, 10 metrics, CloudWatch's most), naming them: a
    // CloudFormation stack holds at most 500 resources, and an alarm per function (61)
    // would leave too little room for the next routes.
    const names = [...props.functions.keys()].sort();
    for (let i = 0; i < names.length; i += FUNCTIONS_PER_ALARM) {
      const group = names.slice(i, i + FUNCTIONS_PER_ALARM);
      const usingMetrics: Record<string, IMetric> = {};
      for (const [k, name] of group.entries()) {
        const fn = props.functions.get(name) as IFunction;
        usingMetrics[`e${k}`] = fn.metricErrors({ period: FIVE_MINUTES });
        usingMetrics[`t${k}`] = fn.metricThrottles({ period: FIVE_MINUTES });
      }
      const errorsOrThrottles = new MathExpression({
        label: `${group.join(', ')}: errors + throttles`,
        expression: group.map((_, k) => `FILL(e${k}, 0) + FILL(t${k}, 0)`).join(' + '),
        usingMetrics,
        period: FIVE_MINUTES,
      });
      const n = i / FUNCTIONS_PER_ALARM + 1;
      this.alarm(`FunctionsErrorsOrThrottles${n}`, `fn-errors-${n}`, errorsOrThrottles, {
        threshold: 0,
        description:
          `One of ${group.map((name) => `functions/${name}.ts`).join(', ')} threw, timed ` +
          'out or was throttled in the last 5 minutes (Lambda Errors + Throttles > 0): ' +
          'Lambda’s Errors metric by function and the log groups say which; throttles mean ' +
          'the account’s concurrency ran out.',
      });
    }

    // DynamoDB: throttled requests, throttle events on the table and its indexes, and
    // errors on AWS's side.
    const { table } = props;
    const dynamo = (metricName: string, dimensions: Record<string, string>) =>
      new Metric({
        namespace: 'AWS/DynamoDB',
        metricName,
        dimensionsMap: { TableName: table.tableName, ...dimensions },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });
    const perOperation = (metricName: string) =>
      sumOf(
        metricName,
        TABLE_OPERATIONS.map((op) => dynamo(metricName, { Operation: op })),
      );
    // The table and its indexes, MAX_ALARM_METRICS to an alarm (the first has the table).
    const withIndexes = (metricName: string) => {
      const metrics = [
        dynamo(metricName, {}),
        ...props.indexNames.map((index) => dynamo(metricName, { GlobalSecondaryIndexName: index })),
      ];
      const chunks: MathExpression[] = [];
      for (let i = 0; i < metrics.length; i += MAX_ALARM_METRICS) {
        const part = i / MAX_ALARM_METRICS;
        chunks.push(
          sumOf(
            part === 0 ? metricName : `${metricName} ${part + 1}`,
            metrics.slice(i, i + MAX_ALARM_METRICS),
          ),
        );
      }
      return chunks;
    };
    const throttledRequests = perOperation('ThrottledRequests');
    const readThrottles = withIndexes('ReadThrottleEvents');
    const writeThrottles = withIndexes('WriteThrottleEvents');
    const systemErrors = perOperation('SystemErrors');
    const numbered = (
      id: string,
      name: string,
      metrics: MathExpression[],
      what: string,
    ): [string, string, MathExpression, string][] =>
      metrics.map((metric, i) => [
        i === 0 ? id : `${id}${i + 1}`,
        i === 0 ? name : `${name}-${i + 1}`,
        metric,
        what,
      ]);
    for (const [alarmId, name, metric, what] of [
      ['TableThrottledRequests', 'dynamodb-throttled-requests', throttledRequests, 'requests'],
      ...numbered('TableReadThrottles', 'dynamodb-read-throttle-events', readThrottles, 'reads'),
      ...numbered(
        'TableWriteThrottles',
        'dynamodb-write-throttle-events',
        writeThrottles,
        'writes',
      ),
    ] as const) {
      this.alarm(alarmId, name, metric, {
        threshold: 0,
        description:
          `DynamoDB throttled ${what} on the table or its indexes in 5 minutes (on-demand: ` +
          'a hot partition or the table’s throughput limit).',
      });
    }
    this.alarm('TableSystemErrors', 'dynamodb-system-errors', systemErrors, {
      threshold: 0,
      description: 'DynamoDB answered 500 (SystemErrors) to the functions in 5 minutes.',
    });

    // Dead-letter queues: anything in one is work that was given up on.
    const depths = new Map<string, Metric>();
    for (const [name, queue] of props.deadLetterQueues) {
      const depth = queue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: FIVE_MINUTES,
        label: name,
      });
      depths.set(name, depth);
      this.alarm(`${name}Depth`, `dlq-${name}`, depth, {
        threshold: 0,
        description: `Messages in the ${name} dead-letter queue: inspect them, fix the cause, redrive.`,
      });
    }

    // A scheduled job that did not run: no invocation of its function in twice its rate.
    for (const job of props.jobs) {
      const window = Duration.minutes(2 * job.everyMinutes);
      const limit = window.toMinutes() < 60 ? Duration.days(1) : Duration.days(7);
      if (window.toSeconds() > limit.toSeconds()) {
        throw new Error(`${job.name}: a ${window.toHumanString()} alarm period is too long`);
      }
      this.alarm(
        `${pascal(job.name)}Missed`,
        `job-${job.name}-missed`,
        job.fn.metricInvocations({ statistic: 'Sum', period: window }),
        {
          threshold: 1,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.BREACHING,
          description:
            `The ${job.name} job (every ${job.everyMinutes} min) did not run in the last ` +
            `${window.toHumanString()}: check its EventBridge schedule and the JobDeadLetters ` +
            'queue. Also in alarm right after the first deployment, until its first run.',
        },
      );
    }

    // Webhook deliveries that failed for good (24 h of retries): the merchant's receiver
    // is down or refusing; the delivery log (GET /v1/webhook-endpoints/{id}/deliveries)
    // says which and why. Those of a deleted endpoint are Job_cancelled, not counted here.
    if (props.jobs.some((job) => job.name === 'deliver-webhooks')) {
      this.alarm(
        'WebhookDeliveriesFailed',
        'webhook-deliveries-failed',
        new Metric({
          namespace: 'Loyalty',
          metricName: 'Job_failed',
          dimensionsMap: { service: 'loyalty-api', job: 'deliver-webhooks' },
          statistic: 'Sum',
          period: FIVE_MINUTES,
        }),
        {
          threshold: 0,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          description:
            "Webhook deliveries failed after 24 hours of retries: check the endpoints' " +
            'delivery logs (GET /v1/webhook-endpoints/{id}/deliveries) and the receivers.',
        },
      );
    }

    // The dashboard.
    const busiest = props.busiestFunctions.map((name) => {
      const fn = props.functions.get(name);
      if (!fn) throw new Error(`dashboard: no function ${name}`);
      return [name, fn] as const;
    });
    const perFunction = (make: (fn: IFunction, label: string) => IMetric) =>
      busiest.map(([name, fn]) => make(fn, name));
    const graph = (title: string, left: IMetric[], width = 6) =>
      new GraphWidget({ title, left, width, height: 6 });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: this.prefix,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      graph('API requests', [requests.with({ label: 'requests' })]),
      graph('API 4xx / 5xx', [
        clientErrors.with({ label: '4xx' }),
        serverErrors.with({ label: '5xx' }),
      ]),
      graph('API 5xx rate (%)', [errorRate]),
      graph('API latency (ms)', [latency('p50'), latency('p99')]),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        perFunction((fn, label) => fn.metricErrors({ period: FIVE_MINUTES, label })),
        8,
      ),
      graph(
        'Lambda throttles',
        perFunction((fn, label) => fn.metricThrottles({ period: FIVE_MINUTES, label })),
        8,
      ),
      graph(
        'Lambda duration p99 (ms)',
        perFunction((fn, label) =>
          fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES, label }),
        ),
        8,
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'DynamoDB consumed capacity',
        [
          table.metricConsumedReadCapacityUnits({ period: FIVE_MINUTES, label: 'RCU' }),
          table.metricConsumedWriteCapacityUnits({ period: FIVE_MINUTES, label: 'WCU' }),
        ],
        8,
      ),
      graph(
        'DynamoDB throttles and system errors',
        [throttledRequests, ...readThrottles, ...writeThrottles, systemErrors],
        8,
      ),
      graph('Dead-letter queue depth', [...depths.values()], 8),
    );
    this.dashboard.addWidgets(
      graph(
        'Scheduled job invocations (per hour)',
        props.jobs.map((job) =>
          job.fn.metricInvocations({
            statistic: 'Sum',
            period: Duration.hours(1),
            label: `${job.name} (every ${job.everyMinutes} min)`,
          }),
        ),
        12,
      ),
      new AlarmStatusWidget({
        title: 'Alarms (API, table, queues, jobs)',
        alarms: this.alarms.filter((a) => !this.functionAlarms.has(a)),
        width: 12,
        height: 6,
      }),
    );
  }

  private alarm(
    id: string,
    name: string,
    metric: IMetric,
    options: {
      threshold: number;
      description: string;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
      comparisonOperator?: ComparisonOperator;
      treatMissingData?: TreatMissingData;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: `${this.prefix}-${name}`,
      alarmDescription: options.description,
      metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
    if (name.startsWith('fn-')) this.functionAlarms.add(alarm);
    return alarm;
  }
}
