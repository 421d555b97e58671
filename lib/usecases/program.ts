import type { Program } from '../domain/program.ts';
import type { ProgramInput } from '../schemas/program.ts';
import { getProgram, putProgram } from '../store/program.ts';

export const readProgram = (): Promise<Program> => getProgram();

export async function replaceProgram(input: ProgramInput): Promise<Program> {
  await putProgram(input);
  return input;
}
