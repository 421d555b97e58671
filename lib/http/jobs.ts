import { jobRunSchema } from '../schemas.ts';
import { httpHandler } from './handler.ts';
import type { JobRunner } from './scheduled.ts';

/** API Gateway gives a request 30 s; a job run on demand stops starting new work after 25. */
const ROUTE_BUDGET_MS = 25_000;

/** `POST /v1/jobs/<name>` with an optional `{"asOf"}` body (default now). */
export function jobRoute(name: string, run: JobRunner) {
  return httpHandler(`POST /v1/jobs/${name}`, async (req) => {
    const { asOf } = req.hasBody() ? req.body(jobRunSchema) : {};
    const result = await run(asOf ? new Date(asOf) : new Date(), Date.now() + ROUTE_BUDGET_MS);
    return { status: 200, body: result };
  });
}
