/**
 * What a route and a periodic job are, for the route table (routes.ts) and its jobs
 * (routes/jobs.ts): the DynamoDB actions a function may use, the body limits, and the
 * grants beyond the table (token secret, webhook key, exports' bucket).
 */
import type { Role } from '../principal.ts';

/** DynamoDB actions a route's function may use on the table (least privilege per function). */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'BatchWriteItem'
  | 'DeleteItem'
  | 'ConditionCheckItem'
  | 'Scan';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** The file in functions/ (without .ts) whose `handler` serves this route. */
  fn: string;
  /** Who may call it; `public` routes skip the authorizer. */
  roles: Role[] | 'public';
  table: TableAction[];
  /** The function signs or verifies customer tokens, so it may read the signing secret. */
  tokenSecret?: true;
  /** The function Queries an index, so its grant also covers `<table>/index/*`. */
  queriesIndex?: true;
  /** Lambda timeout when not the default 10 s (a job run on demand works for up to 25 s). */
  timeoutSeconds?: number;
  /** The largest body it takes when not MAX_BODY_BYTES (an import batch: IMPORT_BODY_BYTES). */
  maxBodyBytes?: number;
  /**
   * Package files the function reads at run time (readAsset in lib/http/assets.ts): from
   * node_modules locally; the CDK stack copies each next to the function's bundle.
   */
  assets?: string[];
  /**
   * The function serves the merchant console's built files (lib/console/bundle.ts): the CDK
   * stack builds them with esbuild next to the function's bundle; the local server builds
   * them into build/console/ before it first serves such a route.
   */
  console?: true;
  /**
   * Also answers at `path` + '/' (the console's page, whose relative links resolve below
   * it). API Gateway takes no route path ending in '/' and sends `/console/` to the
   * `/console` route; the local server, strict about trailing slashes everywhere else, does
   * the same for the routes that say so.
   */
  trailingSlash?: true;
  /**
   * The function uses the webhook secrets' key (webhooks/secrets.ts: KMS in AWS): to seal
   * a new secret, or to open them to sign a delivery.
   */
  webhookKey?: 'encrypt' | 'decrypt';
  /**
   * What the function does with the exports' bucket (exports/s3.ts; local files in npm
   * start): `write` a document (a multipart upload: PutObject and AbortMultipartUpload),
   * `link` to one (a presigned GET: GetObject), `delete` one (DeleteObject).
   */
  exportBucket?: ExportBucketUse[];
}

export type ExportBucketUse = 'write' | 'link' | 'delete';

/** Request bodies are at most this large (64 KiB)... */
export const MAX_BODY_BYTES = 64 * 1024;
/** ...except on the import routes, whose batches of 500 items take up to 1 MiB. */
export const IMPORT_BODY_BYTES = 1024 * 1024;

/** The largest body `route` takes. */
export const bodyLimitOf = (route: Pick<Route, 'maxBodyBytes'>) =>
  route.maxBodyBytes ?? MAX_BODY_BYTES;

/** The API reference's renderer: Redoc's self-contained browser bundle (no CDN, no fonts). */
export const REDOC_SCRIPT = 'redoc/bundles/redoc.standalone.js';

/**
 * Periodic jobs: run on a schedule (EventBridge Scheduler in AWS, a timer in the local
 * server), and on demand through their `/v1/jobs/...` route, by one function that serves
 * both (`fn` is the route's; http/jobs.ts jobFunction).
 */
export interface Job {
  name: string;
  fn: string;
  table: TableAction[];
  queriesIndex?: true;
  /** How often it runs; a run as of now does whatever fell due since the last. */
  everyMinutes: number;
  /** How often in the local server, if not everyMinutes. */
  localEveryMinutes?: number;
  /** ...or every this many seconds (the webhook deliveries). */
  localEverySeconds?: number;
  /** As Route's. */
  webhookKey?: 'encrypt' | 'decrypt';
  /** The scheduled function's timeout when not 60 s; it stops 5 s before. */
  timeoutSeconds?: number;
  /** As Route's. */
  exportBucket?: ExportBucketUse[];
  /**
   * A scheduled run that stops with work left starts the next at once (the function may
   * invoke itself: lib/http/continuation.ts), so the day's due work is done that day.
   */
  drains?: true;
}

/** Every periodic job, once: its schedule, its function and grants, and its route (jobRoute). */
