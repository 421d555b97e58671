import { jobFunction } from '../lib/http/jobs.ts';
import { runExpiryReminders } from '../lib/usecases/lifecycle.ts';

export const handler = jobFunction('expiry-reminders', runExpiryReminders);
