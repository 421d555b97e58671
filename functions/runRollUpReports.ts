import { jobFunction } from '../lib/http/jobs.ts';
import { rollUpReports } from '../lib/usecases/reports.ts';

export const handler = jobFunction('roll-up-reports', rollUpReports);
