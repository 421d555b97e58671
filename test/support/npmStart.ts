import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/**
 * `npm start` itself (lib/local/main.ts) as a child process, for the tests of what a
 * developer sees: through the tsx wrapper as npm runs it, or (`direct`) as node itself, so
 * a SIGKILL reaches the process that serves (the wrapper would leave its node child).
 */
export function startNpm(
  env: Record<string, string>,
  options: { direct?: boolean } = {},
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const [command, args] = options.direct
    ? [process.execPath, ['--import', 'tsx', 'lib/local/main.ts']]
    : [join('node_modules', '.bin', 'tsx'), ['lib/local/main.ts']];
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c) => (output += c));
  child.stderr?.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  running.add(exited);
  void exited.then(() => running.delete(exited));
  stoppers.set(exited, () => child.kill('SIGINT'));
  return { child, output: () => output, exited };
}

/** Servers still up when a test ends (it failed half-way) are stopped, so none outlives the run. */
const running = new Set<Promise<number | null>>();
const stoppers = new Map<Promise<number | null>, () => void>();
afterEach(async () => {
  for (const exited of running) stoppers.get(exited)?.();
  await Promise.all(running);
});

export async function waitFor(output: () => string, text: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}": ${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The processes whose command line names `dir` (DynamoDB Local's JVM for a data dir). */
export const javaProcessesFor = (dir: string) => {
  try {
    return execFileSync('pgrep', ['-f', dir]).toString().trim();
  } catch {
    return '';
  }
};
