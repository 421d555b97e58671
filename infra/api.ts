import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { identityHeaderOf, type Route } from '../lib/routes.ts';

export interface LoyaltyApiProps {
  routes: readonly Route[];
  /** The function serving each route's `fn`. */
  functions: ReadonlyMap<string, IFunction>;
  authorizer: IFunction;
  /** Serves the `$default` route: whatever no route matches. */
  fallback: IFunction;
  authorizerCacheTtl: Duration;
  throttle: { rateLimit: number; burstLimit: number };
}

/** The fields of one JSON access-log line (HTTP API $context variables). */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  keyId: '$context.authorizer.keyId',
};

/**
 * The HTTP API: one route per route-table entry. Routes that are not public go through
 * the Lambda authorizer, which never denies; the handler answers 401/403 itself.
 */
export class LoyaltyApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: LoyaltyApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Loyalty points API',
      // Our own $default stage below, with throttling and access logs.
      createDefaultStage: false,
      // Unknown paths and methods get the API's problem+json 404, not API Gateway's own.
      defaultIntegration: new HttpLambdaIntegration('FallbackIntegration', props.fallback),
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', props.authorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.x-api-key'],
      resultsCacheTtl: props.authorizerCacheTtl,
    });
    // The same function checks customer tokens on the /v1/me routes, cached per token.
    const customerAuthorizer = new HttpLambdaAuthorizer(
      'CustomerTokenAuthorizer',
      props.authorizer,
      {
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        identitySource: ['$request.header.Authorization'],
        resultsCacheTtl: props.authorizerCacheTtl,
      },
    );
    // The routes both API keys and customer tokens may call (GET /v1/exports/{id}): the same
    // function reads whichever is sent. Uncached: API Gateway caches an authorizer's answer
    // only under identity sources every request carries, and these requests carry one of two.
    const eitherAuthorizer = new HttpLambdaAuthorizer('KeyOrTokenAuthorizer', props.authorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    const none = new HttpNoneAuthorizer();
    const authorizerOf = (route: Route) => {
      if (route.roles === 'public') return none;
      const header = identityHeaderOf(route);
      return header === 'either'
        ? eitherAuthorizer
        : header === 'authorization'
          ? customerAuthorizer
          : authorizer;
    };

    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of props.routes) {
      const handler = props.functions.get(route.fn);
      if (!handler) throw new Error(`no function for ${route.fn}`);
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.fn}Integration`, handler);
        integrations.set(route.fn, integration);
      }
      const added = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
        authorizer: authorizerOf(route),
      });
      if (route.roles === 'public') {
        NagSuppressions.addResourceSuppressions(added, [
          {
            id: 'AwsSolutions-APIG4',
            reason:
              `${route.method} ${route.path} is public by design (roles: 'public' in ` +
              'lib/routes.ts): a liveness probe, the API description, its reference page ' +
              "(/docs) or the merchant console's page (/console, which then calls the API " +
              'with an admin key), which read no data and are rate-limited by the stage ' +
              'throttle like every route.',
          },
        ]);
      }
    }
    // The $default route (no route matched) answers 404 problem+json and reads no data: an
    // authorizer in front of it would only turn unknown paths into 401s.
    NagSuppressions.addResourceSuppressions(this.api.node.findChild('DefaultRoute'), [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'The $default route only answers 404 for paths and methods no route matches; its ' +
          'function touches no data, so there is nothing to authorize.',
      },
    ]);
  }
}
