/**
 * One `npm start` per data directory. The lock file (DIR/loyalty.lock, mode 600) names the
 * node process that owns the directory and, once started, its DynamoDB Local JVM, each
 * with its start time so that a reused pid is not mistaken for the owner. It is created
 * atomically (a complete temporary file hard-linked into place, which fails if one
 * exists) and removed on a clean stop. A lock left by a node that died is stale: its
 * JVM, if it still runs and really is a DynamoDB Local on this directory, is stopped.
 * The JVM itself also holds an exclusive OS lock on DIR/dynamodb-local.lock (see
 * LoopbackDynamoDBLocal.java), so two JVMs never write one database.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'loyalty.lock';

export interface LockOwner {
  nodePid: number;
  nodeStart?: string;
  javaPid?: number;
  javaStart?: string;
}

/** Thrown when a live process owns the directory: a one-line, user-facing message. */
export class DataDirInUse extends Error {}

const hasProc = existsSync('/proc/self/stat');

/**
 * When the process started (an opaque token, from /proc on Linux), '' when it runs but
 * its start is unknown (elsewhere, or another user's), or undefined when it does not run.
 */
export function processStart(pid: number): string | undefined {
  try {
    if (hasProc) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' ? undefined : fields[19];
    }
    process.kill(pid, 0);
    return '';
  } catch (error) {
    // Alive but someone else's (EPERM): running, start unknown.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? '' : undefined;
  }
}

/** The process's command line, one entry per argument where the OS tells them apart. */
export function processArgs(pid: number): string[] {
  try {
    if (hasProc) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)])
      .toString()
      .trim()
      .split(' ');
  } catch {
    return [];
  }
}

/** Whether pid is a DynamoDB Local JVM serving `dir` (an absolute path). */
export function isDynamoLocalFor(pid: number, dir: string): boolean {
  const args = processArgs(pid);
  const at = args.indexOf('-dbPath');
  return (
    /(^|\/)java$/.test(args[0] ?? '') &&
    args.some((a) => a.includes('DynamoDBLocal.jar')) &&
    at > 0 &&
    args[at + 1] === dir
  );
}

function running(pid: number | undefined, start: string | undefined): boolean {
  if (!pid) return false;
  const now = processStart(pid);
  if (now === undefined) return false;
  return !start || !now || now === start;
}

async function stopProcess(pid: number): Promise<void> {
  const gone = () => processStart(pid) === undefined;
  const wait = async (ms: number) => {
    for (let waited = 0; waited < ms && !gone(); waited += 50)
      await new Promise((r) => setTimeout(r, 50));
  };
  try {
    process.kill(pid, 'SIGTERM');
    await wait(5_000);
    if (!gone()) process.kill(pid, 'SIGKILL');
    await wait(5_000);
  } catch {
    // already gone
  }
}

export interface DataDirLock {
  /** Records the JVM now serving the directory. */
  setJava(pid: number): void;
  /** Removes the lock (only if it is still this process's). */
  release(): void;
  /** JVMs left by a crashed start that were stopped before this one started. */
  stoppedOrphans: number[];
}

/**
 * Takes the data directory for this process, or throws DataDirInUse when a running
 * node process holds it. Orphaned DynamoDB Local JVMs on the directory are stopped first.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { nodePid: process.pid, nodeStart: processStart(process.pid) };
  const write = (owner: LockOwner, into: (tmp: string) => void) => {
    const tmp = join(dir, `${LOCK_FILE}.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
    try {
      into(tmp);
    } finally {
      if (existsSync(tmp)) unlinkSync(tmp);
    }
  };
  // A file system without hard links: create the lock exclusively, then fill it.
  const link = (tmp: string) => {
    try {
      linkSync(tmp, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
      writeFileSync(path, readFileSync(tmp), { flag: 'wx', mode: 0o600 });
    }
  };
  const stoppedOrphans: number[] = [];

  for (let attempt = 0; ; attempt++) {
    try {
      write(me, link);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
    }
    let text = '';
    let owner: LockOwner | undefined;
    try {
      text = readFileSync(path, 'utf8');
      owner = JSON.parse(text) as LockOwner;
    } catch {
      // gone meanwhile, or not ours to understand: stale either way
    }
    if (owner && running(owner.nodePid, owner.nodeStart))
      throw new DataDirInUse(
        `${dir} is in use by another npm start (pid ${owner.nodePid}): stop it first, or set LOYALTY_DATA_DIR to another directory (if no npm start runs, delete ${path})`,
      );
    // The JVM the crashed start recorded, if it still runs (its stdin normally ends it).
    if (owner?.javaPid && isOrphanedJvm(owner, dir)) {
      await stopProcess(owner.javaPid);
      stoppedOrphans.push(owner.javaPid);
    }
    // Remove the stale lock unless another start replaced it meanwhile.
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // already removed
    }
  }
  let owned = true;
  return {
    stoppedOrphans,
    setJava(pid) {
      write({ ...me, javaPid: pid, javaStart: processStart(pid) }, (tmp) => renameSync(tmp, path));
    },
    release() {
      if (!owned) return;
      owned = false;
      try {
        const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
        if (owner.nodePid === process.pid) unlinkSync(path);
      } catch {
        // already removed
      }
    },
  };
}

/** Whether the lock's JVM still runs, is a DynamoDB Local on `dir`, and is the one recorded. */
function isOrphanedJvm(owner: LockOwner, dir: string): boolean {
  const pid = owner.javaPid as number;
  const start = processStart(pid);
  if (start === undefined || !isDynamoLocalFor(pid, dir)) return false;
  return !owner.javaStart || !start || start === owner.javaStart;
}
