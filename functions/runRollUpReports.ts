import { jobRoute } from '../lib/http/jobs.ts';
import { rollUpReports } from '../lib/usecases/reports.ts';

export const handler = jobRoute('roll-up-reports', rollUpReports);
