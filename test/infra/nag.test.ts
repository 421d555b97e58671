import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { SynthesisMessage } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/stack.ts';
import { routeKey, routes } from '../../lib/routes.ts';

/**
 * cdk-nag (AwsSolutionsChecks, applied in buildApp) over the stack. With cdk.json's
 * `@aws-cdk/core:annotationsInValidationReport` an unsuppressed nag error already fails
 * synthesis (so stack.test.ts and `cdk synth` fail too); here the flag is off so that the
 * findings are listed one by one instead.
 */
const CONTEXT = {
  'aws:cdk:bundling-stacks': [],
  '@aws-cdk/core:annotationsInValidationReport': false,
};

/** The rules the stack accepts, each with its reasons in code (infra/*.ts). */
const SUPPRESSED_RULES = [
  'AwsSolutions-APIG4',
  'AwsSolutions-IAM5',
  'AwsSolutions-L1',
  // The exports' bucket keeps no server access logs (infra/stack.ts says why).
  'AwsSolutions-S1',
  'AwsSolutions-SMG4',
  'AwsSolutions-SQS3',
];

interface ReportRow {
  rule: string;
  resource: string;
  compliance: string;
  reason: string;
}

let annotations: Annotations;
let report: ReportRow[];

beforeAll(() => {
  const { app, stack } = buildApp(CONTEXT);
  // Synthesizes the app once; cdk-nag writes its report into the app's output directory.
  annotations = Annotations.fromStack(stack);
  const assembly = { directory: app.outdir };
  // cdk-nag's CSV report: one row per rule and resource it checked.
  const file = readdirSync(assembly.directory).find((f) =>
    /^AwsSolutions-.*NagReport\.csv$/.test(f),
  );
  expect(file).toBeDefined();
  report = readFileSync(join(assembly.directory, file!), 'utf8')
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      const m = /^"([^"]*)","([^"]*)","([^"]*)","((?:[^"]|"")*)"/.exec(line);
      return m ? [{ rule: m[1]!, resource: m[2]!, compliance: m[3]!, reason: m[4]! }] : [];
    });
});

const describeFinding = (f: SynthesisMessage) => `${f.id}: ${String(f.entry.data).split('\n')[0]}`;

describe('cdk-nag AwsSolutions', () => {
  it('leaves no unsuppressed error', () => {
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map(describeFinding)).toEqual([]);
  });

  it('leaves no unsuppressed warning', () => {
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map(describeFinding)).toEqual([]);
  });

  it('ran: its report has checked resources and nothing non-compliant', () => {
    expect(report.filter((r) => r.compliance === 'Compliant').length).toBeGreaterThan(100);
    expect(report.filter((r) => !['Compliant', 'Suppressed'].includes(r.compliance))).toEqual([]);
  });

  it('suppresses only the rules reviewed, each with a reason', () => {
    const suppressed = report.filter((r) => r.compliance === 'Suppressed');
    expect([...new Set(suppressed.map((r) => r.rule))].sort()).toEqual(SUPPRESSED_RULES);
    for (const row of suppressed) expect(row.reason.length, row.resource).toBeGreaterThan(60);
  });

  it('lets through without authorization only the public routes and $default', () => {
    const unauthorized = report
      .filter((r) => r.rule === 'AwsSolutions-APIG4' && r.compliance === 'Suppressed')
      .map((r) => r.resource)
      .sort();
    const publicRoutes = routes
      .filter((r) => r.roles === 'public')
      .map(
        (r) =>
          `LoyaltyStack/Api/HttpApi/${routeKey(r).replace(' ', '').replaceAll('/', '--')}/Resource`,
      );
    expect(unauthorized).toEqual(
      [...publicRoutes, 'LoyaltyStack/Api/HttpApi/DefaultRoute/Resource'].sort(),
    );
  });
});
