import { jobFunction } from '../lib/http/jobs.ts';
import { runExports } from '../lib/usecases/exports.ts';

export const handler = jobFunction('exports', runExports);
