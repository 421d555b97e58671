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
import { CONSOLE_FILES } from '../../lib/console/bundle.ts';
import type { HttpEvent, HttpResult } from '../../lib/http/handler.ts';
import { findRoute } from '../../lib/routes.ts';

const outdir = mkdtempSync(join(tmpdir(), 'loyalty-console-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("GET /console in AWS: the function's bundle", () => {
  it('carries the console built by esbuild at synth, and the bundled handler serves it', async () => {
    const route = findRoute('GET /console');
    expect(route?.console).toBe(true);

    // One function, bundled by esbuild exactly as `npm run synth` bundles it.
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Console');
    const table = new Table(stack, 'Table', {
      partitionKey: { name: 'PK', type: AttributeType.STRING },
    });
    new LoyaltyFunction(stack, 'ConsolePage', {
      fn: route!.fn,
      table,
      logGroup: new LogGroup(stack, 'Logs'),
      tableActions: route!.table,
      includeIndexes: false,
      console: true,
    });
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const bundle = join(outdir, fn?.Metadata['aws:asset:path'] as string);
    for (const file of CONSOLE_FILES) {
      expect(existsSync(join(bundle, 'console', file)), file).toBe(true);
    }
    const built = readFileSync(join(bundle, 'console', 'index.html'), 'utf8');
    // The typed client and the charts are in the page: nothing is fetched from elsewhere.
    expect(built).toContain('x-api-key');
    expect(built).toContain('uplot');

    // The bundle alone (no node_modules, no checkout next to it, as in Lambda) answers.
    const { handler } = (await import(pathToFileURL(join(bundle, 'index.mjs')).href)) as {
      handler: (event: HttpEvent, context: Context) => Promise<HttpResult>;
    };
    const event = {
      version: '2.0',
      routeKey: 'GET /console',
      rawPath: '/console/',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: { requestId: 'r', http: { method: 'GET', path: '/console/' } },
    } as unknown as HttpEvent;
    const context = {
      awsRequestId: 'r',
      functionName: route!.fn,
      getRemainingTimeInMillis: () => 10_000,
    } as Context;
    const result = await handler(event, context);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toBe('text/html; charset=utf-8');
    expect(result.body).toBe(built);
    const { script } = JSON.parse(readFileSync(join(bundle, 'console', 'hashes.json'), 'utf8'));
    expect(result.headers?.['content-security-policy']).toContain(`script-src '${script}'`);
    // Lambda's response limit is 6 MB, JSON-encoded.
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(1024 * 1024);
  }, 120_000);
});
