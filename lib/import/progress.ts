/** A phase's progress, counted as rows are done and reported through onProgress. */
import type { ImportProgress } from './options.ts';
import type { ImportContext } from './settings.ts';

/** A phase's progress counter, reported through onProgress. */
export function phaseProgress(
  context: ImportContext,
  phase: ImportProgress['phase'],
  total: number,
  counts: { rejected: number },
) {
  let done = 0;
  const report = () => context.onProgress({ phase, done, total, rejected: counts.rejected });
  return {
    report,
    /** Counts rows done (answered, or rejected before sending); `report` tells them. */
    add(rows: number) {
      done += rows;
    },
  };
}
