import { jobFunction } from '../lib/http/jobs.ts';
import { runExpiryReminders } from '../lib/usecases/jobs.ts';

export const handler = jobFunction('expiry-reminders', runExpiryReminders);
