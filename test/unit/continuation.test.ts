import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { continueLocally, MAX_CONTINUATIONS } from '../../lib/http/continuation.ts';
import { chainLength } from '../../lib/http/jobs.ts';
import { scheduledJob } from '../../lib/http/scheduled.ts';
import { jobs } from '../../lib/routes.ts';

/**
 * In AWS a scheduled run of a job that drains, stopped at its deadline with work left,
 * invokes its own function asynchronously with the next run's number; nothing else does.
 */
const lambda = mockClient(LambdaClient);
const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:loyalty-RunExpirePoints';
const context = { getRemainingTimeInMillis: () => 60_000, invokedFunctionArn: ARN };
const left = async () => ({ customers: 200, complete: false });
const finished = async () => ({ customers: 3, complete: true });

const invocations = () =>
  lambda.commandCalls(InvokeCommand).map((call) => ({
    ...call.args[0].input,
    Payload: JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)),
  }));

describe('a scheduled run in AWS', () => {
  beforeEach(() => {
    lambda.reset();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    continueLocally(undefined);
  });

  it('with work left, invokes its function again, asynchronously, as the next run of the chain', async () => {
    await scheduledJob('expire-points', left, { drains: true })({}, context);
    await scheduledJob('expire-points', left, { drains: true })({ continuation: 7 }, context);
    expect(invocations()).toEqual([
      { FunctionName: ARN, InvocationType: 'Event', Payload: { continuation: 1 } },
      { FunctionName: ARN, InvocationType: 'Event', Payload: { continuation: 8 } },
    ]);
  });

  it('does not continue when done, when the job does not drain, or after a day of runs', async () => {
    await scheduledJob('expire-points', finished, { drains: true })({}, context);
    await scheduledJob('deliver-webhooks', left)({}, context);
    await scheduledJob('expire-points', left, { drains: true })(
      { continuation: MAX_CONTINUATIONS },
      context,
    );
    expect(invocations()).toEqual([]);
  });

  it('reads a forged or odd payload as the first run of a chain', async () => {
    for (const event of [
      { continuation: -3 },
      { continuation: 1.5 },
      { continuation: '9' },
      null,
    ]) {
      await scheduledJob('expire-points', left, { drains: true })(event, context);
    }
    expect(invocations().map((i) => i.Payload.continuation)).toEqual([1, 1, 1, 1]);
  });

  it('locally, asks the local server for the next run instead, counting the runs as in AWS', async () => {
    const asked: unknown[] = [];
    continueLocally((job, next) => asked.push([job, next]));
    await scheduledJob('review-tiers', left, { drains: true })(undefined, undefined);
    await scheduledJob('review-tiers', left, { drains: true })({ continuation: 4 }, undefined);
    await scheduledJob('review-tiers', left, { drains: true, maxRuns: 4 })(
      { continuation: 4 },
      undefined,
    );
    continueLocally(undefined);
    expect(asked).toEqual([
      ['review-tiers', { continuation: 1 }],
      ['review-tiers', { continuation: 5 }],
    ]);
    expect(invocations()).toEqual([]);
  });

  it("ends a chain within its job's period: the next scheduled run starts its own", () => {
    const length = (name: string) => chainLength(jobs.find((j) => j.name === name)!);
    expect(length('expire-points')).toBe(1_440);
    expect(length('activate-pending')).toBe(60);
    expect(length('lapse-scan')).toBe(288);
    for (const job of jobs.filter((j) => j.drains)) {
      expect(chainLength(job) * (job.timeoutSeconds ?? 60), job.name).toBeLessThanOrEqual(
        job.everyMinutes * 60,
      );
    }
  });
});
