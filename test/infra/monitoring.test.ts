import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Code, type IFunction, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { CfnSubscription } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoyaltyMonitoring, type LoyaltyMonitoringProps } from '../../infra/monitoring.ts';
import { buildApp } from '../../infra/stack.ts';
import { authorizerFunction, fallbackFunction, jobs, routes } from '../../lib/routes.ts';

/** Skips esbuild: assets are not bundled, the template is otherwise what `cdk synth` makes. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

type Resource = { Type: string; Properties: any };
type Resources = Record<string, Resource>;

/** One metric an alarm reads, whether the alarm is on a metric or on metric math. */
interface AlarmMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, unknown>;
  period: number;
  stat: string;
}

let resources: Resources;
let alarms: [string, Resource][];

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const dimensionsOf = (list: { Name: string; Value: unknown }[] = []) =>
  Object.fromEntries(list.map((d) => [d.Name, d.Value]));

function metricsOf(alarm: Resource): AlarmMetric[] {
  const p = alarm.Properties;
  if (p.MetricName) {
    return [
      {
        namespace: p.Namespace,
        name: p.MetricName,
        dimensions: dimensionsOf(p.Dimensions),
        period: p.Period,
        stat: p.Statistic ?? p.ExtendedStatistic,
      },
    ];
  }
  return (p.Metrics as any[])
    .filter((m) => m.MetricStat)
    .map((m) => ({
      namespace: m.MetricStat.Metric.Namespace,
      name: m.MetricStat.Metric.MetricName,
      dimensions: dimensionsOf(m.MetricStat.Metric.Dimensions),
      period: m.MetricStat.Period,
      stat: m.MetricStat.Stat,
    }));
}

/** The alarms reading metric `name` (and only metrics of that name). */
const alarmsOn = (namespace: string, name: string) =>
  alarms.filter(([, a]) => {
    const metrics = metricsOf(a);
    return metrics.length > 0 && metrics.every((m) => m.namespace === namespace && m.name === name);
  });

function functionFor(fn: string): string {
  const found = ofType('AWS::Lambda::Function').filter(
    ([, r]) => r.Properties.Description === `loyalty-api functions/${fn}.ts`,
  );
  expect(found, fn).toHaveLength(1);
  return found[0]![0];
}

/** Every function of the stack: one per route file, the authorizer, fallback, jobs, publisher. */
const allFunctions = [
  ...new Set([
    ...routes.map((r) => r.fn),
    authorizerFunction.fn,
    fallbackFunction.fn,
    ...jobs.map((j) => j.fn),
    'publishEvents',
  ]),
];

beforeAll(() => {
  resources = Template.fromStack(buildApp(NO_BUNDLING).stack).toJSON().Resources;
  alarms = ofType('AWS::CloudWatch::Alarm');
});

describe('alarms', () => {
  const topicId = () => ofType('AWS::SNS::Topic')[0]![0];
  const indexCount = () =>
    ofType('AWS::DynamoDB::Table')[0]![1].Properties.GlobalSecondaryIndexes.length as number;
  const apiDimensions = () => ({
    ApiId: { Ref: ofType('AWS::ApiGatewayV2::Api')[0]![0] },
    Stage: '$default',
  });

  it('one alarm per category member, and no other', () => {
    const queues = ofType('AWS::SQS::Queue').length;
    expect(queues).toBe(2);
    // API 5xx rate and p99 latency; errors + throttles per 5 functions; the table's
    // throttled requests, read and write throttle events and system errors; one per
    // dead-letter queue; one per scheduled job; webhook deliveries failed for good.
    const tableAlarms = 2 + 2 * Math.ceil((1 + indexCount()) / 10);
    expect(alarms).toHaveLength(
      2 + Math.ceil(allFunctions.length / 5) + tableAlarms + queues + jobs.length + 1,
    );
  });

  it('every alarm notifies the one SNS topic, whose ARN is an output', () => {
    expect(ofType('AWS::SNS::Topic')).toHaveLength(1);
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId() }]);
      expect(alarm.Properties.ActionsEnabled ?? true, id).toBe(true);
      expect(alarm.Properties.AlarmDescription, id).toBeTruthy();
      expect(alarm.Properties.AlarmName, id).toMatch(/^LoyaltyStack-/);
    }
    const names = alarms.map(([, a]) => a.Properties.AlarmName);
    expect(new Set(names).size).toBe(names.length);
  });

  it('the topic takes SSL publishes only, and lets this stack’s alarms publish', () => {
    const [[, policy]] = ofType('AWS::SNS::TopicPolicy') as [[string, Resource]];
    expect(policy.Properties.Topics).toEqual([{ Ref: topicId() }]);
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const allow = statements.find((s) => s.Effect === 'Allow');
    expect(allow).toMatchObject({
      Action: 'sns:Publish',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Resource: { Ref: topicId() },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(JSON.stringify(allow.Condition.ArnLike['aws:SourceArn'])).toContain(
      ':alarm:LoyaltyStack-*',
    );
    expect(ofType('AWS::SNS::Subscription')).toHaveLength(0);
  });

  it('API 5xx rate: 5xx / Count of the $default stage above 1% over 5 minutes', () => {
    const found = alarms.filter(([, a]) => {
      const names = metricsOf(a).map((m) => m.name);
      return names.includes('5xx') && names.includes('Count');
    });
    expect(found).toHaveLength(1);
    const [, alarm] = found[0]!;
    for (const m of metricsOf(alarm)) {
      expect(m).toMatchObject({
        namespace: 'AWS/ApiGateway',
        dimensions: apiDimensions(),
        period: 300,
        stat: 'Sum',
      });
    }
    const expression = (alarm.Properties.Metrics as any[]).find((m) => m.Expression);
    expect(expression.Expression).toMatch(/100 \* FILL\(errors, 0\) \/ requests/);
    expect(alarm.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('API p99 latency above 1000 ms', () => {
    const found = alarmsOn('AWS/ApiGateway', 'Latency');
    expect(found).toHaveLength(1);
    const [, alarm] = found[0]!;
    expect(metricsOf(alarm)).toEqual([
      {
        namespace: 'AWS/ApiGateway',
        name: 'Latency',
        dimensions: apiDimensions(),
        period: 300,
        stat: 'p99',
      },
    ]);
    expect(alarm.Properties).toMatchObject({
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('webhook deliveries failed after 24 hours of retries > 0 (the delivery job says how many)', () => {
    const found = alarms.filter(([, a]) => a.Properties.MetricName === 'Job_failed');
    expect(found).toHaveLength(1);
    const [, alarm] = found[0]!;
    expect(metricsOf(alarm)).toEqual([
      {
        namespace: 'Loyalty',
        name: 'Job_failed',
        dimensions: { service: 'loyalty-api', job: 'deliver-webhooks' },
        period: 300,
        stat: 'Sum',
      },
    ]);
    expect(alarm.Properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Properties.AlarmDescription).toContain('/deliveries');
  });

  it('Lambda Errors + Throttles > 0: every function in one alarm, on both, 5 to an alarm', () => {
    const found = alarms.filter(([, a]) => {
      const names = metricsOf(a).map((m) => `${m.namespace} ${m.name}`);
      return names.includes('AWS/Lambda Errors') || names.includes('AWS/Lambda Throttles');
    });
    expect(found).toHaveLength(Math.ceil(allFunctions.length / 5));
    const covered = new Map<string, string[]>();
    for (const [, a] of found) {
      const metrics = metricsOf(a);
      expect(metrics.length).toBeLessThanOrEqual(10);
      for (const m of metrics) expect(m).toMatchObject({ period: 300, stat: 'Sum' });
      const expression = (a.Properties.Metrics as any[]).find((m) => m.Expression);
      const ids = (a.Properties.Metrics as any[]).filter((m) => m.MetricStat).map((m) => m.Id);
      // Every metric of the alarm is in its sum, each filled with 0 when missing.
      for (const id of ids) expect(expression.Expression).toContain(`FILL(${id}, 0)`);
      for (const m of metrics) {
        const fn = (m.dimensions.FunctionName as { Ref: string }).Ref;
        covered.set(fn, [...(covered.get(fn) ?? []), m.name as string]);
      }
      expect(a.Properties).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
    for (const fn of allFunctions) {
      expect(covered.get(functionFor(fn))?.sort(), fn).toEqual(['Errors', 'Throttles']);
    }
    expect(covered.size).toBe(allFunctions.length);
  });

  it.each(['ThrottledRequests', 'ReadThrottleEvents', 'WriteThrottleEvents', 'SystemErrors'])(
    'DynamoDB %s on the table > 0',
    (metric) => {
      const found = alarmsOn('AWS/DynamoDB', metric);
      // The table and its indexes, 10 metrics to an alarm (the most CloudWatch takes).
      const perIndex = metric === 'ReadThrottleEvents' || metric === 'WriteThrottleEvents';
      expect(found).toHaveLength(perIndex ? Math.ceil((1 + indexCount()) / 10) : 1);
      for (const [, a] of found) expect(metricsOf(a).length).toBeLessThanOrEqual(10);
      const alarm = found[0]![1];
      const tableId = ofType('AWS::DynamoDB::Table')[0]![0];
      const metrics = found.flatMap(([, a]) => metricsOf(a));
      for (const m of metrics) {
        expect(m.dimensions.TableName).toEqual({ Ref: tableId });
        expect(m.stat).toBe('Sum');
      }
      if (metric === 'ThrottledRequests' || metric === 'SystemErrors') {
        expect(metrics.map((m) => m.dimensions.Operation)).toEqual(
          expect.arrayContaining(['GetItem', 'Query', 'PutItem', 'TransactWriteItems']),
        );
      } else {
        // The table itself and each of its indexes.
        const [, table] = ofType('AWS::DynamoDB::Table')[0]!;
        const indexes = table.Properties.GlobalSecondaryIndexes.map((g: any) => g.IndexName);
        expect(metrics.map((m) => m.dimensions.GlobalSecondaryIndexName ?? null).sort()).toEqual(
          [null, ...indexes].sort(),
        );
      }
      expect(alarm.Properties).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    },
  );

  it('every queue (all dead-letter queues) alarms on a visible message', () => {
    const found = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible');
    const queues = ofType('AWS::SQS::Queue').map(([id]) => id);
    expect(found).toHaveLength(queues.length);
    expect(
      found.map(([, a]) => (metricsOf(a)[0]!.dimensions.QueueName as any)['Fn::GetAtt'][0]).sort(),
    ).toEqual(queues.sort());
    for (const [, alarm] of found) {
      expect(metricsOf(alarm)[0]).toMatchObject({ period: 300, stat: 'Maximum' });
      expect(alarm.Properties).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it.each(jobs)('$name: no invocation in twice its rate is an alarm, silence too', (job) => {
    const found = alarmsOn('AWS/Lambda', 'Invocations').filter(
      ([, a]) =>
        (metricsOf(a)[0]!.dimensions.FunctionName as { Ref: string }).Ref === functionFor(job.fn),
    );
    expect(found).toHaveLength(1);
    expect(found[0]![1].Properties).toMatchObject({
      Statistic: 'Sum',
      Period: 2 * job.everyMinutes * 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('only the jobs have a missed-run alarm', () => {
    expect(alarmsOn('AWS/Lambda', 'Invocations')).toHaveLength(jobs.length);
  });
});

describe('dashboard', () => {
  it('one dashboard: API, busiest functions, table, queues, jobs', () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]![1].Properties.DashboardBody);
    for (const title of [
      'API requests',
      'API 4xx / 5xx',
      'API latency (ms)',
      'Lambda errors',
      'Lambda throttles',
      'Lambda duration p99 (ms)',
      'DynamoDB consumed capacity',
      'DynamoDB throttles and system errors',
      'Dead-letter queue depth',
      'Scheduled job invocations (per hour)',
    ]) {
      expect(body, title).toContain(title);
    }
    for (const metric of [
      '4xx',
      '5xx',
      'Latency',
      'Duration',
      'ConsumedReadCapacityUnits',
      'ConsumedWriteCapacityUnits',
      'ApproximateNumberOfMessagesVisible',
      'Invocations',
    ]) {
      expect(body, metric).toContain(`\\"${metric}\\"`);
    }
    for (const fn of ['recordPurchase', 'authorizeRedemption', 'getCustomer', 'authorizer']) {
      expect(body, fn).toContain(`{"Ref":"${functionFor(fn)}"}`);
    }
    for (const job of jobs) expect(body, job.name).toContain(job.name);
  });
});

/** The construct alone, in a small stack of its own (no full synth). */
function smallStack(overrides: (fn: IFunction) => Partial<LoyaltyMonitoringProps> = () => ({})) {
  const stack = new Stack(new App(), 'Small');
  const fn = new LambdaFunction(stack, 'Fn', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('export const handler = async () => {};'),
  });
  new LoyaltyMonitoring(stack, 'Monitoring', {
    stage: new HttpApi(stack, 'Api').defaultStage!,
    functions: new Map([['fn', fn]]),
    busiestFunctions: ['fn'],
    jobs: [{ name: 'nightly', fn, everyMinutes: 1440 }],
    table: new Table(stack, 'Table', { partitionKey: { name: 'PK', type: AttributeType.STRING } }),
    indexNames: [],
    deadLetterQueues: new Map([['Dead', new Queue(stack, 'Queue')]]),
    ...overrides(fn),
  });
  return stack;
}

describe('alarm email', () => {
  it('subscribes the address given as context alarmEmail', () => {
    const { stack } = buildApp({ ...NO_BUNDLING, alarmEmail: 'ops@example.com' });
    const subscriptions = stack.node
      .findAll()
      .filter((c): c is CfnSubscription => c instanceof CfnSubscription);
    expect(subscriptions.map((s) => [s.protocol, s.endpoint])).toEqual([
      ['email', 'ops@example.com'],
    ]);
  });

  it('in the template: an email subscription to the alarm topic', () => {
    const template = Template.fromStack(smallStack(() => ({ alarmEmail: 'ops@example.com' })));
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('refuses what is not an email address', () => {
    expect(() => smallStack(() => ({ alarmEmail: 'ops' }))).toThrow(/alarmEmail/);
  });
});

describe('limits', () => {
  it('refuses a job whose missed-run window CloudWatch cannot evaluate (over 7 days)', () => {
    expect(() =>
      smallStack((fn) => ({ jobs: [{ name: 'fortnightly', fn, everyMinutes: 14 * 1440 }] })),
    ).toThrow(/fortnightly/);
  });
});
