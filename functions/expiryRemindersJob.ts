import { scheduledJob } from '../lib/http/scheduled.ts';
import { runExpiryReminders } from '../lib/usecases/lifecycle.ts';

export const handler = scheduledJob('expiry-reminders', runExpiryReminders);
