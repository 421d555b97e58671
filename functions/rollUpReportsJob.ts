import { scheduledJob } from '../lib/http/scheduled.ts';
import { rollUpReports } from '../lib/usecases/reports.ts';

export const handler = scheduledJob('roll-up-reports', rollUpReports);
