import { jobRoute } from '../lib/http/jobs.ts';
import { runExpiryReminders } from '../lib/usecases/lifecycle.ts';

export const handler = jobRoute('expiry-reminders', runExpiryReminders);
