/**
 * A scheduled job whose run ended at its deadline with work left does not wait for its
 * next schedule (a day, for the daily jobs): it starts its next run at once. In AWS the
 * function invokes itself asynchronously (Lambda `Event` invocation: queued, retried by
 * Lambda, and each run a fresh timeout); in the local server the runtime runs it again as
 * soon as this run ends (continueLocally). Each run reads only what is still due, so a run
 * of the chain that overlaps a scheduled one changes nothing twice.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';

/**
 * At most this many runs follow one scheduled run: a day of one-minute runs. A job's own
 * cap (jobs.ts jobFunction) is what fits in its period, so a chain ends before the next
 * scheduled run would start another.
 */
export const MAX_CONTINUATIONS = 1_440;

/** The payload of a continuation: how many runs of the chain came before it. */
export interface Continuation {
  continuation: number;
}

/** Which run of its chain an invocation is (0: the scheduled one). */
export function runOfChain(event: unknown): number {
  const n = (event as Partial<Continuation> | null)?.continuation;
  return Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : 0;
}

let local: ((job: string, next: Continuation) => void) | undefined;

/**
 * The local server's way to continue a job: run it again, with `next` as its event, when
 * this run ends.
 */
export function continueLocally(
  runAgain: ((job: string, next: Continuation) => void) | undefined,
): void {
  local = runAgain;
}

let client: LambdaClient | undefined;
const lambda = () => {
  client ??= new LambdaClient({});
  return client;
};

/**
 * Starts the next run of `job`'s chain, unless the chain has had `maxRuns` runs after its
 * scheduled one (at most MAX_CONTINUATIONS). Returns whether it did.
 */
export async function continueJob(
  job: string,
  run: number,
  context: Partial<Pick<Context, 'invokedFunctionArn'>> | undefined,
  maxRuns = MAX_CONTINUATIONS,
): Promise<boolean> {
  if (run + 1 > Math.min(maxRuns, MAX_CONTINUATIONS)) return false;
  const payload: Continuation = { continuation: run + 1 };
  if (local) {
    local(job, payload);
    return true;
  }
  const arn = context?.invokedFunctionArn;
  if (!arn) return false;
  await lambda().send(
    new InvokeCommand({
      FunctionName: arn,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  return true;
}
