import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { TableAction } from '../lib/routes.ts';
import { projectRoot } from './paths.ts';

/** ESM bundles that pull in CommonJS code otherwise fail with "Dynamic require of ...". */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

export interface LoyaltyFunctionProps {
  /** The file in functions/ (without .ts) exporting `handler`. */
  fn: string;
  table: ITable;
  /** Exactly the DynamoDB actions this function may call; [] grants nothing. */
  tableActions: readonly TableAction[];
  /** Also grant the actions on `<table>/index/*` (Query on a GSI). */
  includeIndexes: boolean;
  timeout?: Duration;
  /** The customer-token signing secret, for the functions that sign or verify tokens. */
  tokenSecret?: ISecret;
  environment?: Record<string, string>;
}

/**
 * One Lambda function with the project's defaults fixed once: Node 22 on arm64, bundled
 * locally by esbuild as minified ESM (AWS SDK included), X-Ray tracing, a log group with
 * one month's retention, and an IAM policy naming only the DynamoDB actions it needs.
 */
export class LoyaltyFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: LoyaltyFunctionProps) {
    super(scope, id);
    // Our own log group (as Powertools' FunctionWithLogGroup does) instead of the implicit
    // /aws/lambda/<name> one, which would keep logs forever.
    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH });
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
      logGroup: this.logGroup,
      environment: {
        LOYALTY_TABLE: props.table.tableName,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'loyalty-api',
        ...(props.tokenSecret && { LOYALTY_TOKEN_SECRET_ARN: props.tokenSecret.secretArn }),
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
        logLevel: LogLevel.WARNING,
      },
    });

    props.tokenSecret?.grantRead(this.function);

    if (props.tableActions.length > 0) {
      const tableArn = props.table.tableArn;
      this.function.addToRolePolicy(
        new PolicyStatement({
          actions: props.tableActions.map((action) => `dynamodb:${action}`),
          resources: props.includeIndexes ? [tableArn, `${tableArn}/index/*`] : [tableArn],
        }),
      );
    }
  }
}
