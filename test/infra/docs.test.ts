import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Context } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { LoyaltyFunction } from '../../infra/functions.ts';
import { assetSource, withoutRedoclyLogo } from '../../lib/http/assets.ts';
import type { HttpEvent, HttpResult } from '../../lib/http/handler.ts';
import { findRoute, REDOC_SCRIPT } from '../../lib/routes.ts';

const outdir = mkdtempSync(join(tmpdir(), 'loyalty-docs-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("GET /docs/redoc.standalone.js in AWS: the function's bundle", () => {
  it('carries Redoc next to index.mjs, and the bundled handler serves it from there', async () => {
    const route = findRoute('GET /docs/redoc.standalone.js');
    expect(route?.assets).toEqual([REDOC_SCRIPT]);

    // One function, bundled by esbuild exactly as `npm run synth` bundles it.
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Docs');
    const table = new Table(stack, 'Table', {
      partitionKey: { name: 'PK', type: AttributeType.STRING },
    });
    new LoyaltyFunction(stack, 'DocsScript', {
      fn: route!.fn,
      table,
      logGroup: new LogGroup(stack, 'Logs'),
      tableActions: route!.table,
      includeIndexes: false,
      assets: route!.assets,
    });
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const bundle = join(outdir, fn?.Metadata['aws:asset:path'] as string);
    const copied = join(bundle, 'redoc.standalone.js');
    expect(existsSync(join(bundle, 'index.mjs'))).toBe(true);
    expect(readFileSync(copied, 'utf8')).toBe(readFileSync(assetSource(REDOC_SCRIPT), 'utf8'));

    // The bundle alone (no node_modules next to it, as in Lambda) answers with the copy.
    const { handler } = (await import(pathToFileURL(join(bundle, 'index.mjs')).href)) as {
      handler: (event: HttpEvent, context: Context) => Promise<HttpResult>;
    };
    const event = {
      version: '2.0',
      routeKey: 'GET /docs/redoc.standalone.js',
      rawPath: '/docs/redoc.standalone.js',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: {
        requestId: 'r',
        http: { method: 'GET', path: '/docs/redoc.standalone.js' },
      },
    } as unknown as HttpEvent;
    const context = {
      awsRequestId: 'r',
      functionName: 'docsScript',
      getRemainingTimeInMillis: () => 10_000,
    } as Context;
    const result = await handler(event, context);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toBe('text/javascript; charset=utf-8');
    // As copied, but for Redocly's logo, which is not fetched from their CDN.
    const served = String(result.body);
    expect(served.includes('cdn.redoc.ly')).toBe(false);
    expect(served === withoutRedoclyLogo(readFileSync(copied, 'utf8'))).toBe(true);
    // Lambda's response limit is 6 MB, JSON-encoded.
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(5 * 1024 * 1024);
  });
});
