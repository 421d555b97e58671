import { createHash } from 'node:crypto';
import { dayKey } from '../domain/days.ts';
import type { ModelParams } from '../domain/model.ts';
import {
  type LapsedScoresState,
  lapsedCustomerPages,
  lapsedScoresState,
  rescore,
  saveLapsedScoresState,
} from '../store/lapsed.ts';
import { getModelItem } from '../store/model.ts';
import { inParallel } from './parallel.ts';

/**
 * The lapsed list's sorted orders (by value at risk, by churnRisk) are index keys written
 * with the customer, scored as of that write by the model then in force. Scores move
 * without writes (pAlive decays with the silence, months leave the annual window, the
 * model is refitted), so the lapse-scan job rescores every lapsed customer once a day and
 * after each change of the model: a generation is the model and the UTC day (a walk that
 * needs more than a run's budget goes on in the next runs, then starts over). The walk
 * goes page by page through the Lapsed index, writing only the keys that changed, each
 * conditional on the version read (a customer written meanwhile was scored by that
 * write); where it stands is saved after each page, so a run out of time leaves the rest
 * to the next. Customers lapsed before the sorted orders existed have no keys: the first
 * walk gives them theirs. True when a walk under this generation reached the end.
 */
export async function refreshLapsedScores(
  options: { deadline?: number; shouldStop?: () => boolean; clock?: () => Date } = {},
): Promise<boolean> {
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const stop = () => Date.now() > deadline || options.shouldStop?.() === true;
  const at = options.clock?.() ?? new Date();
  const { model } = await getModelItem();
  const generation = generationOf(model, at);
  const state = await lapsedScoresState();
  if (state.generation === generation && state.done) return true;
  // A walk cut short goes on where it stopped under a new day (those before it were scored
  // the day before: a walk longer than a run's budget still ends), but starts over under a
  // new model, which every customer is to be scored by.
  const sameModel = state.generation?.split('@')[0] === generation.split('@')[0];
  let position = state.done || !sameModel ? undefined : state.position;
  const save = (s: Omit<LapsedScoresState, 'generation'>) =>
    saveLapsedScoresState({ generation, ...s });
  for await (const page of lapsedCustomerPages(position)) {
    // Checked after the page's reads, before its writes: what is read and not written is
    // read again by the next run, never skipped.
    if (stop()) {
      await save({ done: false, ...(position !== undefined && { position }) });
      return false;
    }
    await inParallel(page.customers, 4, async (stored) => {
      await rescore(stored, { model, at });
    });
    position = page.next;
    if (position !== undefined) await save({ done: false, position });
  }
  await save({ done: true });
  return true;
}

/** What the scores are as of: the model (its parameters, trusted or not) and the day. */
function generationOf(model: ModelParams | undefined, at: Date): string {
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(model ?? null))
    .digest('base64url')
    .slice(0, 16);
  return `${fingerprint}@${dayKey(at)}`;
}
