/**
 * The program a purchase is judged by: the stored one, with the lapse thresholds in force
 * (section 16: a purchase after a silence the rule counts as a lapse records it, by the
 * thresholds in force when it is recorded). In calibrated mode those are the pair the last
 * lapse scan chose (lapseCalibration.ts), read from its stored measurement, cached like
 * the program; in fixed mode, the program's own, with no read.
 */
import { lapseInForce, type Measurement, programInForce } from '../domain/lapseCalibration.ts';
import type { Program } from '../domain/program.ts';
import { getCachedLapseQuality } from '../store/model.ts';
import { getProgram } from '../store/program.ts';

export async function programForPurchases(): Promise<Program> {
  const program = await getProgram();
  if (program.lapse.mode !== 'calibrated') return program;
  const measurement = (await getCachedLapseQuality()) as Measurement | undefined;
  return programInForce(program, lapseInForce(program, measurement));
}
