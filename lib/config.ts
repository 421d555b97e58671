import { getNumberFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';

/**
 * Configuration is read once, on first use, from the environment; a missing required
 * variable fails fast with its name.
 */
export interface Config {
  tableName: string;
  /** Set for DynamoDB Local; unset in AWS. */
  dynamoEndpoint: string | undefined;
  region: string;
  /** How long a function may serve a cached program before reading it again. */
  programCacheMs: number;
}

let current: Config | undefined;

export function config(): Config {
  current ??= {
    tableName: getStringFromEnv({
      key: 'LOYALTY_TABLE',
      errorMessage: 'LOYALTY_TABLE must name the DynamoDB table',
    }),
    dynamoEndpoint: getStringFromEnv({ key: 'DYNAMODB_ENDPOINT', defaultValue: '' }) || undefined,
    region: getStringFromEnv({ key: 'AWS_REGION', defaultValue: 'us-east-1' }),
    programCacheMs: getNumberFromEnv({ key: 'LOYALTY_PROGRAM_CACHE_MS', defaultValue: 30_000 }),
  };
  return current;
}
