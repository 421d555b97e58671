import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/stack.ts';
import {
  authorizerFunction,
  fallbackFunction,
  identityHeaderOf,
  jobs,
  type Route,
  routeKey,
  routes,
} from '../../lib/routes.ts';
import { tableDefinition } from '../../lib/store/table.ts';

/** Skips esbuild: assets are not bundled, the template is otherwise what `cdk synth` makes. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/**
 * The actions AWS only allows on Resource '*': X-Ray tracing's, and ListStreams (a
 * stream-triggered function lists the table's streams; it reads only its own stream).
 */
const XRAY_ACTIONS = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
const STAR_ONLY_ACTIONS = new Set([...XRAY_ACTIONS, 'dynamodb:ListStreams']);
/** What a function's role may do in CloudWatch Logs: write to its own log group. */
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

type Resources = Record<string, { Type: string; Properties: any; DeletionPolicy?: string }>;

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

let template: Template;
let resources: Resources;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** The logical id of the function a `Fn::GetAtt [id, 'Arn']` somewhere inside `value` names. */
function functionIn(value: unknown): string {
  const json = JSON.stringify(value);
  const ids = ofType('AWS::Lambda::Function').map(([id]) => id);
  const found = ids.filter((id) => json.includes(`"Fn::GetAtt":["${id}","Arn"]`));
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The function whose description names functions/<fn>.ts. */
function functionFor(fn: string): string {
  const found = ofType('AWS::Lambda::Function').filter(
    ([, r]) => r.Properties.Description === `loyalty-api functions/${fn}.ts`,
  );
  expect(found, fn).toHaveLength(1);
  return found[0]![0];
}

function routeResource(route: Route) {
  const found = ofType('AWS::ApiGatewayV2::Route').filter(
    ([, r]) => r.Properties.RouteKey === routeKey(route),
  );
  expect(found, routeKey(route)).toHaveLength(1);
  return found[0]![1];
}

/** Every statement of every IAM policy attached to the function's execution role. */
/**
 * Every IAM policy of the stack with the roles it applies to: AWS::IAM::Policy resources
 * and the policies inline in roles (the functions' roles hold theirs inline).
 */
function policies(): { roles: string[]; document: any }[] {
  return [
    ...ofType('AWS::IAM::Policy').map(([, p]) => ({
      roles: asList<{ Ref: string }>(p.Properties.Roles).map((r) => r.Ref),
      document: p.Properties.PolicyDocument,
    })),
    ...ofType('AWS::IAM::Role').flatMap(([id, r]) =>
      asList<any>(r.Properties.Policies ?? []).map((p) => ({
        roles: [id],
        document: p.PolicyDocument,
      })),
    ),
  ];
}

function statementsOf(functionId: string): any[] {
  const roleId = resources[functionId]!.Properties.Role['Fn::GetAtt'][0] as string;
  return policies()
    .filter((p) => p.roles.includes(roleId))
    .flatMap((p) => asList(p.document.Statement));
}

const tableId = () => ofType('AWS::DynamoDB::Table')[0]![0];

beforeAll(() => {
  template = Template.fromStack(buildApp(NO_BUNDLING).stack);
  resources = template.toJSON().Resources;
});

describe('table', () => {
  it('has Contributor Insights off unless -c contributorInsights=true', () => {
    const insights = (t: Template) =>
      Object.values(t.findResources('AWS::DynamoDB::Table'))[0]?.Properties
        .ContributorInsightsSpecification;
    expect(insights(template)).toEqual({ Enabled: false });
    const on = Template.fromStack(buildApp({ ...NO_BUNDLING, contributorInsights: 'true' }).stack);
    expect(insights(on)).toEqual({ Enabled: true });
  });

  it('is the shared definition, on demand, protected and retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TimeToLiveSpecification: {
          AttributeName: tableDefinition.timeToLiveAttribute,
          Enabled: true,
        },
        KeySchema: [
          { AttributeName: tableDefinition.partitionKey, KeyType: 'HASH' },
          { AttributeName: tableDefinition.sortKey, KeyType: 'RANGE' },
        ],
      }),
    });
  });

  it('has exactly the GSIs of the definition, the due indexes keys-only', () => {
    const gsis = resources[tableId()]!.Properties.GlobalSecondaryIndexes ?? [];
    expect(gsis.map((g: any) => g.IndexName).sort()).toEqual(
      tableDefinition.globalSecondaryIndexes.map((g) => g.indexName).sort(),
    );
    for (const index of tableDefinition.globalSecondaryIndexes) {
      const gsi = gsis.find((g: any) => g.IndexName === index.indexName);
      expect(gsi.Projection.ProjectionType, index.indexName).toBe(
        index.keysOnly ? 'KEYS_ONLY' : index.include ? 'INCLUDE' : 'ALL',
      );
      expect(gsi.KeySchema).toEqual([
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ]);
    }
  });
});

describe('HTTP API', () => {
  it('has one route per route-table entry and no other', () => {
    expect(
      ofType('AWS::ApiGatewayV2::Route')
        .map(([, r]) => r.Properties.RouteKey)
        .sort(),
    ).toEqual([...routes.map(routeKey), '$default'].sort());
  });

  it('takes no route path that ends in / (API Gateway refuses one; /console/ is served by /console)', () => {
    expect(routes.filter((r) => r.path.endsWith('/')).map(routeKey)).toEqual([]);
  });

  it('serves the API reference (GET /docs and its script) and the merchant console without an authorizer', () => {
    for (const key of ['GET /docs', 'GET /docs/redoc.standalone.js', 'GET /console']) {
      const route = routes.find((r) => routeKey(r) === key);
      expect(route?.roles, key).toBe('public');
      const resource = routeResource(route!);
      expect(resource.Properties.AuthorizationType, key).toBe('NONE');
      expect(resource.Properties.AuthorizerId, key).toBeUndefined();
      const integrationId = resource.Properties.Target['Fn::Join'][1][1].Ref as string;
      expect(functionIn(resources[integrationId]!.Properties.IntegrationUri)).toBe(
        functionFor(route!.fn),
      );
      // It reads no data: its role grants nothing on the table.
      const statements = statementsOf(functionFor(route!.fn));
      expect(statements.flatMap((st) => asList<string>(st.Action))).not.toContainEqual(
        expect.stringMatching(/^dynamodb:/),
      );
    }
  });

  it('sends whatever no route matches to the fallback function, without the authorizer', () => {
    const [[, fallback]] = ofType('AWS::ApiGatewayV2::Route').filter(
      ([, r]) => r.Properties.RouteKey === '$default',
    ) as [[string, any]];
    expect(fallback.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
    const integrationId = (fallback.Properties.Target['Fn::Join'][1] as unknown[])[1] as {
      Ref: string;
    };
    const integration = resources[integrationId.Ref]!;
    expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(
      functionFor(fallbackFunction.fn),
    );
  });

  it.each(routes.map((r) => [routeKey(r), r] as const))(
    '%s: authorizer and integration',
    (_key, route) => {
      const resource = routeResource(route);
      if (route.roles === 'public') {
        expect(resource.Properties.AuthorizationType).toBe('NONE');
        expect(resource.Properties.AuthorizerId).toBeUndefined();
      } else {
        expect(resource.Properties.AuthorizationType).toBe('CUSTOM');
        expect(resource.Properties.AuthorizerId).toBeDefined();
      }
      const integrationId = resource.Properties.Target['Fn::Join'][1][1].Ref as string;
      const integration = resources[integrationId]!;
      expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
      expect(functionIn(integration.Properties.IntegrationUri)).toBe(functionFor(route.fn));
    },
  );

  it('authorizes API keys and customer tokens with the authorizer function, cached', () => {
    const authorizers = ofType('AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(3);
    const bySource = new Map(
      authorizers.map(([id, a]) => [
        (a.Properties.IdentitySource[0] as string | undefined) ?? 'either',
        [id, a] as const,
      ]),
    );
    // The routes both may call (GET /v1/exports/{id}): whichever is sent, uncached.
    const [eitherAuthorizer, either] = bySource.get('either')!;
    expect(either.Properties).toMatchObject({
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      IdentitySource: [],
      AuthorizerResultTtlInSeconds: 0,
    });
    expect(functionIn(either.Properties.AuthorizerUri)).toBe(functionFor(authorizerFunction.fn));
    for (const source of ['$request.header.x-api-key', '$request.header.Authorization']) {
      const [, authorizer] = bySource.get(source)!;
      expect(authorizer.Properties).toMatchObject({
        AuthorizerType: 'REQUEST',
        AuthorizerPayloadFormatVersion: '2.0',
        EnableSimpleResponses: true,
        IdentitySource: [source],
        AuthorizerResultTtlInSeconds: 60,
      });
      expect(functionIn(authorizer.Properties.AuthorizerUri)).toBe(
        functionFor(authorizerFunction.fn),
      );
    }
    const [keyAuthorizer] = bySource.get('$request.header.x-api-key')!;
    const [tokenAuthorizer] = bySource.get('$request.header.Authorization')!;
    for (const route of routes.filter((r) => r.roles !== 'public')) {
      const header = identityHeaderOf(route);
      const expected =
        header === 'either'
          ? eitherAuthorizer
          : header === 'authorization'
            ? tokenAuthorizer
            : keyAuthorizer;
      expect(routeResource(route).Properties.AuthorizerId, routeKey(route)).toEqual({
        Ref: expected,
      });
    }
  });

  it('lets only the token signers and verifiers read the token secret', () => {
    const [[secretId]] = ofType('AWS::SecretsManager::Secret') as [[string, unknown]];
    const readers = policies()
      .filter((p) => JSON.stringify(p.document).includes(`"Ref":"${secretId}"`))
      .flatMap((p) => p.roles)
      .sort();
    const expected = [
      authorizerFunction.fn,
      ...routes.filter((r) => r.tokenSecret).map((r) => r.fn),
    ]
      .map((fn) => resources[functionFor(fn)]!.Properties.Role['Fn::GetAtt'][0])
      .sort();
    expect(readers).toEqual(expected);
  });

  it('has a throttled $default stage with JSON access logs', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const [, stage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format.requestId).toBe('$context.requestId');
    const logGroupId = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    expect(resources[logGroupId]!.Properties.RetentionInDays).toBe(30);
  });

  it('takes throttling and the authorizer cache from context', () => {
    const t = Template.fromStack(
      buildApp({
        ...NO_BUNDLING,
        throttleRate: '5',
        throttleBurst: 10,
        authorizerCacheSeconds: 0,
      }).stack,
    );
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
  });

  it('outputs the API URL, the table name, the alarm topic and the dashboard', () => {
    template.hasOutput('ApiUrl', {});
    template.hasOutput('TableName', { Value: { Ref: tableId() } });
    const [[topicId]] = ofType('AWS::SNS::Topic') as [[string, unknown]];
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
    const [[dashboardId]] = ofType('AWS::CloudWatch::Dashboard') as [[string, unknown]];
    template.hasOutput('DashboardName', { Value: { Ref: dashboardId } });
  });
});

describe('functions', () => {
  // A job's function is its route's (http/jobs.ts jobFunction).
  const fns = [
    ...new Set([...routes.map((r) => r.fn), ...jobs.map((j) => j.fn)]),
    authorizerFunction.fn,
    fallbackFunction.fn,
    'publishEvents',
  ];

  it('one per route file plus the authorizer, all with the same defaults', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(fns.length);
    for (const fn of fns) functionFor(fn);
    for (const [id, f] of functions) {
      expect(f.Properties, id).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        MemorySize: 1024,
        Environment: {
          Variables: {
            LOYALTY_TABLE: { Ref: tableId() },
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_SERVICE_NAME: 'loyalty-api',
          },
        },
      });
      // The exports job alone has Lambda's 15 minutes (a long ledger; see routes.ts).
      expect(f.Properties.Timeout).toBeLessThanOrEqual(
        id === functionFor('runExports') ? 900 : 300,
      );
      // Jobs as of the future are for simulations only: never in a deployed stack.
      expect(f.Properties.Environment.Variables, id).not.toHaveProperty(
        'LOYALTY_ALLOW_FUTURE_ASOF',
      );
      const logGroupId = f.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(resources[logGroupId]!.Properties.RetentionInDays).toBe(30);
    }
  });

  it('each has a role of its own, without managed policies, that may write its logs', () => {
    const functions = ofType('AWS::Lambda::Function');
    const roles = functions.map(([, f]) => f.Properties.Role['Fn::GetAtt'][0] as string);
    expect(new Set(roles).size).toBe(functions.length);
    for (const [id, f] of functions) {
      const role = resources[f.Properties.Role['Fn::GetAtt'][0]]!;
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
      const logs = statementsOf(id).filter((s) =>
        asList<string>(s.Action).some((a) => a.startsWith('logs:')),
      );
      expect(logs, id).toEqual([
        {
          Effect: 'Allow',
          Action: LOG_ACTIONS,
          Resource: { 'Fn::GetAtt': [f.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] },
        },
      ]);
    }
  });

  it('gives each scheduled job 60 s unless it asks for more (lapse-scan: 300 s)', () => {
    for (const job of jobs) {
      const f = resources[functionFor(job.fn)]!;
      expect(f.Properties.Timeout, job.fn).toBe(job.timeoutSeconds ?? 60);
    }
    expect(jobs.find((j) => j.name === 'lapse-scan')?.timeoutSeconds).toBe(300);
  });

  it('gives an import batch 29 s (API Gateway waits 30), a job its own (60 s unless it says), a ping 15 s, other routes 10 s', () => {
    for (const route of routes) {
      const f = resources[functionFor(route.fn)]!;
      const job = jobs.find((j) => j.fn === route.fn);
      const expected = job
        ? (job.timeoutSeconds ?? 60)
        : route.path.startsWith('/v1/imports/')
          ? 29
          : (route.timeoutSeconds ?? 10);
      expect(f.Properties.Timeout, route.fn).toBe(expected);
    }
    expect(resources[functionFor('testWebhookEndpoint')]!.Properties.Timeout).toBe(15);
  });
});

describe('events', () => {
  const publisherId = () => functionFor('publishEvents');

  it('the table streams new images to the publisher, outbox inserts only, with a DLQ', () => {
    const [, table] = ofType('AWS::DynamoDB::Table')[0]!;
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0]!;
    expect(mapping.Properties.FunctionName).toEqual({ Ref: publisherId() });
    expect(mapping.Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 20,
    });
    expect(mapping.Properties.DestinationConfig.OnFailure.Destination).toBeDefined();
    const pattern = JSON.parse(mapping.Properties.FilterCriteria.Filters[0].Pattern);
    expect(pattern).toEqual({
      eventName: ['INSERT'],
      dynamodb: { Keys: { PK: { S: ['EVENTS'] } } },
    });
  });

  it('the publisher may put events on the bus and read the stream, nothing else', () => {
    const statements = statementsOf(publisherId());
    const busId = ofType('AWS::Events::EventBus')[0]![0];
    const put = statements.filter((s) => asList<string>(s.Action).includes('events:PutEvents'));
    expect(put).toHaveLength(1);
    expect(put[0].Resource).toEqual({ 'Fn::GetAtt': [busId, 'Arn'] });
    const actions = statements.flatMap((s) => asList<string>(s.Action)).sort();
    expect(actions.filter((a) => !XRAY_ACTIONS.has(a) && !LOG_ACTIONS.includes(a))).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
      'events:PutEvents',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    expect(resources[publisherId()]!.Properties.Environment.Variables.LOYALTY_EVENT_BUS).toEqual({
      Ref: busId,
    });
  });
});

describe('size', () => {
  it('stays well below the 500 resources a CloudFormation stack holds', () => {
    // A route is 5 resources (function, role with its policy inline, integration,
    // permission, route; the functions share one log group): room for several more.
    expect(Object.keys(resources).length).toBeLessThanOrEqual(500 - 5 * 7);
  });
});

describe('IAM', () => {
  it('no statement allows every action, and only X-Ray uses Resource *', () => {
    const statements = policies().flatMap((p) => asList(p.document.Statement));
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) {
      const actions = asList<string>(s.Action);
      expect(actions.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
      if (asList(s.Resource).includes('*')) {
        expect(
          actions.every((a) => STAR_ONLY_ACTIONS.has(a)),
          JSON.stringify(s),
        ).toBe(true);
      }
    }
  });

  const granted = [
    ...routes.map((r) => [routeKey(r), r.fn, r.table] as const),
    ['authorizer', authorizerFunction.fn, authorizerFunction.table] as const,
    ['fallback', fallbackFunction.fn, fallbackFunction.table] as const,
    ...jobs.map((j) => [j.name, j.fn, j.table] as const),
  ];

  it.each(granted)('%s: exactly its DynamoDB actions on the table', (_key, fn, actions) => {
    const statements = statementsOf(functionFor(fn));
    const dynamo = statements.filter((s) =>
      asList<string>(s.Action).some((a) => a.startsWith('dynamodb:')),
    );
    const grantedActions = dynamo.flatMap((s) => asList<string>(s.Action));
    expect(grantedActions.sort()).toEqual(actions.map((a) => `dynamodb:${a}`).sort());
    const tableArn = { 'Fn::GetAtt': [tableId(), 'Arn'] };
    const needsIndex = [...routes, ...jobs].some((r) => r.fn === fn && r.queriesIndex);
    for (const s of dynamo) {
      expect(s.Effect).toBe('Allow');
      expect(asList(s.Resource)).toEqual(
        needsIndex ? [tableArn, { 'Fn::Join': ['', [tableArn, '/index/*']] }] : [tableArn],
      );
    }
    // Nothing else but its logs, X-Ray, and reading the token secret for those that need it.
    const logGroupId = resources[functionFor(fn)]!.Properties.LoggingConfig.LogGroup.Ref;
    for (const s of statements.filter((s) => !dynamo.includes(s))) {
      if (asList<string>(s.Action).some((a) => a.startsWith('logs:'))) {
        expect(asList<string>(s.Action).sort()).toEqual(LOG_ACTIONS);
        expect(s.Resource).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
        continue;
      }
      const kms = asList<string>(s.Action).filter((a) => a.startsWith('kms:'));
      if (kms.length > 0) {
        // The webhook secrets' key: Encrypt to seal a new one, Decrypt to sign; nothing else.
        const use = [...routes, ...jobs].find((r) => r.fn === fn && r.webhookKey)?.webhookKey;
        expect(use, fn).toBeDefined();
        expect(asList<string>(s.Action)).toEqual([
          use === 'encrypt' ? 'kms:Encrypt' : 'kms:Decrypt',
        ]);
        expect(s.Resource).toEqual({ 'Fn::GetAtt': [ofType('AWS::KMS::Key')[0]![0], 'Arn'] });
        continue;
      }
      const s3 = asList<string>(s.Action).filter((a) => a.startsWith('s3:'));
      if (s3.length > 0) {
        // The exports' bucket: each use's actions, on its objects only (infra/functions.ts).
        const uses = [...routes, ...jobs].find((r) => r.fn === fn && r.exportBucket)?.exportBucket;
        expect(uses, fn).toBeDefined();
        const expected = (uses ?? []).flatMap((use) =>
          use === 'write'
            ? ['s3:PutObject', 's3:AbortMultipartUpload']
            : use === 'link'
              ? ['s3:GetObject']
              : ['s3:DeleteObject'],
        );
        expect(asList<string>(s.Action).sort()).toEqual(expected.sort());
        expect(s.Resource).toEqual({
          'Fn::Join': ['', [{ 'Fn::GetAtt': [ofType('AWS::S3::Bucket')[0]![0], 'Arn'] }, '/*']],
        });
        continue;
      }
      if (asList<string>(s.Action).includes('lambda:InvokeFunction')) {
        // Its continuation: a job that drains invokes itself, nothing else.
        expect(asList<string>(s.Action)).toEqual(['lambda:InvokeFunction']);
        expect(jobs.some((j) => j.fn === fn && j.drains)).toBe(true);
        expect(functionIn(s.Resource)).toBe(functionFor(fn));
        continue;
      }
      const readsSecret = asList<string>(s.Action).every((a) => a.startsWith('secretsmanager:'));
      if (readsSecret) {
        expect(
          fn === authorizerFunction.fn || routes.some((r) => r.fn === fn && r.tokenSecret),
        ).toBe(true);
        expect(asList<string>(s.Action).sort()).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ]);
      } else {
        expect(asList<string>(s.Action).every((a) => XRAY_ACTIONS.has(a))).toBe(true);
      }
    }
  });
});

describe("the exports' bucket", () => {
  it('is encrypted, private, HTTPS only, and empties itself after 7 days', () => {
    const [[bucketId, bucket]] = ofType('AWS::S3::Bucket') as [[string, any]];
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          expect.objectContaining({
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          }),
        ],
      },
    });
    const [[, policy]] = ofType('AWS::S3::BucketPolicy') as [[string, any]];
    expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  it('is used by exactly the functions that say so, with their names of it', () => {
    const users = [...routes, ...jobs].filter((r) => r.exportBucket).map((r) => r.fn);
    expect([...new Set(users)].sort()).toEqual([
      'eraseCustomer',
      'eraseMe',
      'getExport',
      'runExports',
    ]);
    const [[bucketId]] = ofType('AWS::S3::Bucket') as [[string, unknown]];
    for (const [id, f] of ofType('AWS::Lambda::Function')) {
      const named = f.Properties.Environment?.Variables?.LOYALTY_EXPORT_BUCKET;
      const user = users.some((fn) => functionFor(fn) === id);
      expect(named, id).toEqual(user ? { Ref: bucketId } : undefined);
    }
  });
});

describe('jobs', () => {
  it('every job route has a scheduled job of the same name, and the other way round', () => {
    const routed = routes
      .filter((r) => r.path.startsWith('/v1/jobs/'))
      .map((r) => r.path.slice('/v1/jobs/'.length))
      .sort();
    expect(jobs.map((j) => j.name).sort()).toEqual(routed);
    expect(routed).toEqual([
      'activate-pending',
      'birthday-bonus',
      'deliver-webhooks',
      'expire-points',
      'expiry-reminders',
      'exports',
      'lapse-scan',
      'release-holds',
      'review-tiers',
      'roll-up-reports',
    ]);
    // The same function serves both.
    for (const job of jobs) {
      expect(routes.find((r) => r.path === `/v1/jobs/${job.name}`)?.fn, job.name).toBe(job.fn);
    }
  });

  it('lets a job that drains invoke itself (its continuation) and no other function, by a policy its function does not depend on', () => {
    const draining = jobs.filter((j) => j.drains).map((j) => j.name);
    expect(draining.sort()).toEqual([
      'activate-pending',
      'birthday-bonus',
      'expire-points',
      'expiry-reminders',
      'lapse-scan',
      'review-tiers',
    ]);
    const functionRoles = new Set(
      ofType('AWS::Lambda::Function').map(([, f]) => f.Properties.Role['Fn::GetAtt'][0]),
    );
    // Not the schedules' roles' (they invoke their job's function): the functions' own.
    const policies = ofType('AWS::IAM::Policy').filter(
      ([, p]) =>
        asList(p.Properties.Roles).some((r: any) => functionRoles.has(r.Ref)) &&
        asList(p.Properties.PolicyDocument.Statement).some((s: any) =>
          asList(s.Action).includes('lambda:InvokeFunction'),
        ),
    );
    expect(policies).toHaveLength(draining.length);
    for (const [id, policy] of policies) {
      const [statement, ...others] = asList(policy.Properties.PolicyDocument.Statement) as any[];
      expect(others, id).toEqual([]);
      expect(statement.Action).toBe('lambda:InvokeFunction');
      const fn = functionIn(statement.Resource);
      const job = jobs.find((j) => functionFor(j.fn) === fn);
      expect(job?.drains, id).toBe(true);
      // The function's own role, and no DependsOn from the function (that would be a cycle).
      const role = (resources[fn]!.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
      expect(policy.Properties.Roles).toEqual([{ Ref: role }]);
      expect(asList((resources[fn] as { DependsOn?: string[] }).DependsOn)).not.toContain(id);
    }
  });

  it('keeps webhook secrets under a KMS key that rotates, used by exactly the functions that need it', () => {
    const keys = ofType('AWS::KMS::Key');
    expect(keys).toHaveLength(1);
    const [keyId, key] = keys[0]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    const users = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .filter(([, r]) => r.Properties.Environment?.Variables?.LOYALTY_WEBHOOK_KEY_ID)
      .map(([id, r]) => {
        expect(r.Properties.Environment.Variables.LOYALTY_WEBHOOK_KEY_ID).toEqual({
          'Fn::GetAtt': [keyId, 'Arn'],
        });
        return id;
      })
      .sort();
    const expected = [
      ...new Set([...routes, ...jobs].filter((r) => r.webhookKey).map((r) => functionFor(r.fn))),
    ].sort();
    expect(users).toEqual(expected);
    expect(expected).toHaveLength(4);
  });

  it.each(jobs)('$name runs on a schedule with retries and a dead-letter queue', (job) => {
    const schedules = ofType('AWS::Scheduler::Schedule').filter(
      ([, r]) => r.Properties.Description === `loyalty ${job.name}`,
    );
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0]!;
    const minutes = job.everyMinutes;
    const rate =
      minutes % 1440 === 0
        ? `${minutes / 1440} day${minutes === 1440 ? '' : 's'}`
        : minutes % 60 === 0
          ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}`
          : `${minutes} minute${minutes === 1 ? '' : 's'}`;
    expect(schedule.Properties.ScheduleExpression).toBe(`rate(${rate})`);
    expect(schedule.Properties.Target.RetryPolicy.MaximumRetryAttempts).toBe(2);
    expect(schedule.Properties.Target.DeadLetterConfig.Arn).toBeDefined();
    expect(JSON.stringify(schedule.Properties.Target.Arn)).toContain(functionFor(job.fn));
  });
});
