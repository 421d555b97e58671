import { basename, join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import {
  type AddToPrincipalPolicyResult,
  PolicyDocument,
  PolicyStatement,
  Role,
  type RoleProps,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { assetSource } from '../lib/http/assets.ts';
import type { ExportBucketUse, TableAction } from '../lib/routes.ts';
import { arnFinding } from './nag.ts';
import { projectRoot } from './paths.ts';

/** ESM bundles that pull in CommonJS code otherwise fail with "Dynamic require of ...". */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

export interface LoyaltyFunctionProps {
  /** The file in functions/ (without .ts) exporting `handler`. */
  fn: string;
  table: ITable;
  /**
   * The log group every function of the stack writes to (one for all keeps the stack far
   * below CloudFormation's 500 resources; each function's streams carry its name).
   */
  logGroup: LogGroup;
  /** Exactly the DynamoDB actions this function may call; [] grants nothing. */
  tableActions: readonly TableAction[];
  /** Also grant the actions on `<table>/index/*` (Query on a GSI). */
  includeIndexes: boolean;
  timeout?: Duration;
  /** The customer-token signing secret, for the functions that sign or verify tokens. */
  tokenSecret?: ISecret;
  /**
   * The webhook secrets' KMS key (webhooks/secrets.ts), for the functions that seal a new
   * secret (encrypt) or open them to sign deliveries (decrypt): only that use is granted.
   */
  webhookKey?: { key: IKey; use: 'encrypt' | 'decrypt' };
  environment?: Record<string, string>;
  /**
   * The exports' bucket and what the function does with it (a route's `exportBucket`):
   * exactly those S3 actions on its objects, and its name in LOYALTY_EXPORT_BUCKET.
   */
  exportBucket?: { bucket: IBucket; uses: readonly ExportBucketUse[] };
  /** Package files the function reads at run time (a route's `assets`): copied next to its bundle. */
  assets?: readonly string[];
  /**
   * It serves the merchant console (a route's `console`): the console is built into
   * `console/` next to its bundle.
   */
  console?: boolean;
}

/**
 * The S3 actions of each use of the exports' bucket, on its objects only: a streamed
 * multipart upload is PutObject (its create, part and complete calls) and, when it fails,
 * AbortMultipartUpload; a presigned GET works only if its signer may GetObject.
 */
const EXPORT_BUCKET_ACTIONS: Record<ExportBucketUse, string[]> = {
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  link: ['s3:GetObject'],
  delete: ['s3:DeleteObject'],
};

/** Shell-quotes a path for the bundling commands (local bundling runs them in a shell). */
const quoted = (path: string) => `'${path.replaceAll("'", `'\\''`)}'`;

/** Builds the merchant console with esbuild (lib/console/bundle.ts) into `outdir`. */
const buildConsoleInto = (outdir: string) =>
  `${quoted(join(projectRoot, 'node_modules', '.bin', 'tsx'))} ${quoted(join(projectRoot, 'lib', 'console', 'bundle.ts'))} ${quoted(outdir)}`;

/**
 * A role whose statements all go into one policy inline in the role, not a separate
 * AWS::IAM::Policy resource: the same grants, one CloudFormation resource fewer per
 * function (a stack holds at most 500 resources, and each route is a function).
 */
class InlinePolicyRole extends Role {
  private readonly document: PolicyDocument;

  constructor(scope: Construct, id: string, props: RoleProps) {
    const document = new PolicyDocument();
    super(scope, id, { ...props, inlinePolicies: { function: document } });
    this.document = document;
  }

  override addToPrincipalPolicy(statement: PolicyStatement): AddToPrincipalPolicyResult {
    this.document.addStatements(statement);
    return { statementAdded: true, policyDependable: this };
  }
}

/**
 * One Lambda function with the project's defaults fixed once: Node 22 on arm64, bundled
 * locally by esbuild as minified ESM (AWS SDK included), X-Ray tracing, a log group with
 * one month's retention, and a role of its own that may write to that log group only and
 * names only the DynamoDB actions it needs.
 */
export class LoyaltyFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: LoyaltyFunctionProps) {
    super(scope, id);
    // The stack's log group (with a retention) instead of the implicit /aws/lambda/<name>
    // one, which would keep logs forever; Lambda names each stream after the function.
    this.logGroup = props.logGroup;
    // Not the managed AWSLambdaBasicExecutionRole (logs:CreateLogGroup and PutLogEvents on
    // every log group in the account): writing to its own log group is all it needs.
    const role = new InlinePolicyRole(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `loyalty-api functions/${props.fn}.ts`,
    });
    this.logGroup.grantWrite(role);
    this.function = new NodejsFunction(this, 'Function', {
      description: `loyalty-api functions/${props.fn}.ts`,
      entry: join(projectRoot, 'functions', `${props.fn}.ts`),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      // 1024 MB: the handlers are I/O-bound when warm, but cold starts (parsing the bundle,
      // TLS and credentials for the first DynamoDB call) are CPU-bound and CPU scales with
      // memory; at ~1 GB they run about twice as fast as at 512 MB for a small cost.
      memorySize: 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      role,
      logGroup: this.logGroup,
      environment: {
        LOYALTY_TABLE: props.table.tableName,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'loyalty-api',
        ...(props.tokenSecret && { LOYALTY_TOKEN_SECRET_ARN: props.tokenSecret.secretArn }),
        ...(props.webhookKey && { LOYALTY_WEBHOOK_KEY_ID: props.webhookKey.key.keyArn }),
        ...(props.exportBucket && { LOYALTY_EXPORT_BUCKET: props.exportBucket.bucket.bucketName }),
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        // Stack traces need the mappings only, not a copy of every source file.
        sourcesContent: false,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Pin the SDK version we test with instead of whatever the runtime ships.
        bundleAwsSDK: true,
        externalModules: [],
        // Always the local esbuild (a devDependency): no Docker, works offline.
        forceDockerBundling: false,
        ...((props.assets?.length || props.console) && {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            // readAsset and readConsoleFile (lib/http/assets.ts) find them next to index.mjs.
            afterBundling: (_input: string, output: string) => [
              ...(props.assets ?? []).map(
                (asset) =>
                  `cp ${quoted(assetSource(asset))} ${quoted(join(output, basename(asset)))}`,
              ),
              ...(props.console ? [buildConsoleInto(join(output, 'console'))] : []),
            ],
          },
        }),
        logLevel: LogLevel.WARNING,
      },
    });

    props.tokenSecret?.grantRead(this.function);
    // Exactly kms:Encrypt or kms:Decrypt (grantEncrypt would add ReEncrypt* and
    // GenerateDataKey*, which sealing a secret does not use).
    if (props.webhookKey) {
      props.webhookKey.key.grant(
        this.function,
        props.webhookKey.use === 'encrypt' ? 'kms:Encrypt' : 'kms:Decrypt',
      );
    }

    if (props.exportBucket) {
      const actions = props.exportBucket.uses.flatMap((use) => EXPORT_BUCKET_ACTIONS[use]);
      this.function.addToRolePolicy(
        new PolicyStatement({
          actions: [...new Set(actions)].sort(),
          resources: [props.exportBucket.bucket.arnForObjects('*')],
        }),
      );
    }

    if (props.tableActions.length > 0) {
      const tableArn = props.table.tableArn;
      this.function.addToRolePolicy(
        new PolicyStatement({
          actions: props.tableActions.map((action) => `dynamodb:${action}`),
          resources: props.includeIndexes ? [tableArn, `${tableArn}/index/*`] : [tableArn],
        }),
      );
    }

    NagSuppressions.addResourceSuppressions(this.function, [
      {
        id: 'AwsSolutions-L1',
        reason:
          'Pinned to nodejs22.x on purpose: the toolchain the code is tested with is Node 22 ' +
          '(package.json engines and the node devDependency, esbuild target node22), so ' +
          'production runs what the tests ran. nodejs22.x is a supported runtime; moving to ' +
          'a newer one means moving the runtime, the esbuild target and the toolchain together.',
      },
    ]);
    // The role holds its policy inline: statements added later (by the stack) land in it.
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "Resource '*' only for actions that IAM allows on no narrower resource: X-Ray " +
            "tracing's xray:PutTraceSegments and xray:PutTelemetryRecords and, for the " +
            'stream publisher, dynamodb:ListStreams (it reads only its own stream, by ARN). ' +
            'test/infra/stack.test.ts asserts no other action is granted on *.',
          appliesTo: ['Resource::*'],
        },
        ...(props.includeIndexes
          ? [
              {
                id: 'AwsSolutions-IAM5',
                reason:
                  'Query on the global secondary indexes of the one table: the table ARN plus ' +
                  '/index/*, granted only to the functions whose route or job Queries an ' +
                  'index, with the same actions as on the table.',
                appliesTo: [arnFinding(this, props.table.tableArn, '/index/*')],
              },
            ]
          : []),
        ...(props.exportBucket
          ? [
              {
                id: 'AwsSolutions-IAM5',
                reason:
                  "The exports' documents are objects named by export id, written by the " +
                  'exports job, linked to by the export status route, deleted with their ' +
                  "customer's exports: each function gets only its own use's actions " +
                  '(lib/routes.ts exportBucket) on the objects of that one bucket.',
                appliesTo: [arnFinding(this, props.exportBucket.bucket.bucketArn, '/*')],
              },
            ]
          : []),
      ],
      true,
    );
  }
}
