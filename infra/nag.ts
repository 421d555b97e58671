import { Aspects, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag's AWS Solutions rules over the whole app. Its findings are error and warning
 * annotations, so with `@aws-cdk/core:annotationsInValidationReport` (cdk.json) an
 * unsuppressed error fails `cdk synth`. Each construct suppresses, next to what it
 * creates, the findings it accepts, each with its reason; test/infra/nag.test.ts lists
 * what is left.
 */
export function applyNagChecks(scope: IConstruct): void {
  Aspects.of(scope).add(new AwsSolutionsChecks({ verbose: true }));
}

/**
 * How cdk-nag names a resource in a granular finding (`AwsSolutions-IAM5[Resource::...]`)
 * when the ARN is an attribute of a resource in the stack: `<LogicalId.Arn>` then the
 * literal suffix. So a suppression names exactly that ARN, not any ARN with a wildcard.
 */
export function arnFinding(scope: IConstruct, arn: string, suffix = ''): string {
  const resolved = Stack.of(scope).resolve(arn) as { 'Fn::GetAtt'?: [string, string] };
  const getAtt = resolved['Fn::GetAtt'];
  if (!getAtt) throw new Error(`expected an ARN attribute, got ${JSON.stringify(resolved)}`);
  return `Resource::<${getAtt[0]}.${getAtt[1]}>${suffix}`;
}
