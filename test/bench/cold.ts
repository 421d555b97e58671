/**
 * `npm run bench:cold [-- --runs N] [--keep]`
 *
 * Cold-start cost of each Lambda bundle. Bundles every functions/*.ts with esbuild exactly
 * as CDK's NodejsFunction does in infra/functions.ts (ESM, minified, source map without
 * sourcesContent, node22, mainFields module,main, the createRequire banner, AWS SDK
 * bundled), plus a bare handler that only creates a DynamoDB document client, the floor
 * any of our functions pays. Then it imports each bundle in a fresh Node process
 * (`performance.now()` around `await import(bundle)`, so process start-up is not counted),
 * N times round-robin over the bundles so machine noise spreads evenly, after one
 * unmeasured warm-up round that fills the page cache and checks that importing opens no
 * socket (no AWS call at module level). Prints size and median import time per function,
 * sorted by import time, its ratio to the bare bundle and the budget check (no function
 * over 1.3x the bare one); a benchmark, so it always exits 0 once measured. The last line
 * is one JSON object with the figures. --keep leaves the bundles and their esbuild
 * metafiles (meta.json) in the temp dir for analysis.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BuildOptions, build } from 'esbuild';
import { projectRoot } from '../../infra/paths.ts';

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});

const runs = Number(args.runs);
if (!Number.isSafeInteger(runs) || runs < 1) {
  console.error(`bench:cold: --runs must be a positive integer, got ${args.runs}`);
  process.exit(2);
}

const BUDGET = 1.3;
const BARE = '(bare)';

// ---------------------------------------------------------------- bundling

/** The same esbuild settings as NodejsFunction's `bundling` in infra/functions.ts. */
const CDK_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
  },
  // bundleAwsSDK: true and externalModules: [] -> nothing external.
  external: [],
  logLevel: 'warning',
  absWorkingDir: projectRoot,
  metafile: true,
};

const BARE_ENTRY = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async () => ({ statusCode: 200, body: typeof client.send });
`;

interface Bundle {
  fn: string;
  file: string;
  bytes: number;
  samples: number[];
}

const outRoot = mkdtempSync(join(tmpdir(), 'loyalty-cold-'));
const functionsDir = join(projectRoot, 'functions');
const fns = readdirSync(functionsDir)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
  .map((name) => name.slice(0, -'.ts'.length))
  .sort();

async function bundle(fn: string, entry: BuildOptions): Promise<Bundle> {
  const dir = join(outRoot, fn === BARE ? 'bare' : fn);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  const result = await build({ ...CDK_OPTIONS, ...entry, outfile: file });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(result.metafile));
  return { fn, file, bytes: statSync(file).size, samples: [] };
}

const buildStart = performance.now();
const bundles = await Promise.all([
  bundle(BARE, {
    stdin: {
      contents: BARE_ENTRY,
      loader: 'ts',
      resolveDir: projectRoot,
      sourcefile: 'bare-handler.ts',
    },
  }),
  ...fns.map((fn) => bundle(fn, { entryPoints: [join(functionsDir, `${fn}.ts`)] })),
]);
console.log(
  `bundled ${bundles.length - 1} functions + the bare handler in ${Math.round(performance.now() - buildStart)} ms into ${outRoot}`,
);

// ---------------------------------------------------------------- measuring

/**
 * Run by `node` in a fresh process: time the import alone. With `check`, also watch for
 * sockets and HTTP requests started by module-level code, wait a moment and report them
 * (only in the unmeasured warm-up round, so measured runs carry no diagnostics overhead).
 */
const MEASURE = `import { pathToFileURL } from 'node:url';
const [file, check] = process.argv.slice(2);
const opened = [];
if (check) {
  const dc = await import('node:diagnostics_channel');
  for (const name of ['net.client.socket', 'http.client.request.start', 'undici:request:create']) {
    dc.subscribe(name, () => opened.push(name));
  }
}
const start = performance.now();
const mod = await import(pathToFileURL(file).href);
const ms = performance.now() - start;
if (typeof mod.handler !== 'function') throw new Error('no exported handler');
if (check) await new Promise((resolve) => setTimeout(resolve, 300));
process.stdout.write(JSON.stringify({ ms, opened }) + '\\n');
process.exit(0);
`;
const measureScript = join(outRoot, 'measure.mjs');
writeFileSync(measureScript, MEASURE);

/** Dummy configuration so module-level code cannot throw, and no way to reach AWS. */
const childEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_EC2_METADATA_DISABLED: 'true',
  // Anything that did call AWS would hit a closed local port instead.
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  LOYALTY_TABLE: 'loyalty-bench',
  LOYALTY_EVENT_BUS: 'loyalty-bench',
  LOYALTY_TOKEN_SECRET: 'bench-token-secret-not-for-production',
  POWERTOOLS_SERVICE_NAME: 'loyalty-api',
};

function importOnce(b: Bundle, check: boolean): { ms: number; opened: string[] } {
  const child = spawnSync('node', [measureScript, b.file, ...(check ? ['check'] : [])], {
    env: childEnv,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = child.stdout?.trim().split('\n').at(-1);
  if (child.status !== 0 || !line) {
    throw new Error(
      `importing ${b.fn} failed (exit ${child.status ?? child.signal}): ${child.stderr}`,
    );
  }
  return JSON.parse(line);
}

const nodeVersion = spawnSync('node', ['--version'], { env: childEnv, encoding: 'utf8' });
console.log(`importing with node ${nodeVersion.stdout.trim()}, ${runs} runs round-robin`);

const networked: string[] = [];
for (const b of bundles) {
  const { opened } = importOnce(b, true);
  if (opened.length > 0) networked.push(`${b.fn} (${[...new Set(opened)].join(', ')})`);
}

const measureStart = performance.now();
for (let run = 0; run < runs; run++) {
  // Rotate the starting point each round so no bundle always goes first or last.
  for (let i = 0; i < bundles.length; i++) {
    const b = bundles[(i + run * 7) % bundles.length] as Bundle;
    b.samples.push(importOnce(b, false).ms);
  }
}
const measureSeconds = (performance.now() - measureStart) / 1000;

if (!args.keep) rmSync(outRoot, { recursive: true, force: true });

// ---------------------------------------------------------------- report

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

const bare = bundles[0] as Bundle;
const bareMs = median(bare.samples);
const rows = bundles
  .map((b) => {
    const importMs = median(b.samples);
    return { fn: b.fn, bytes: b.bytes, importMs, ratio: importMs / bareMs };
  })
  .sort((a, b) => b.importMs - a.importMs);

const widths = [Math.max(8, ...rows.map((r) => r.fn.length)), 9, 17, 9];
const cells = (values: string[]) =>
  values.map((v, i) => (i === 0 ? v.padEnd(widths[0] as number) : v.padStart(widths[i] as number)));
console.log();
console.log(cells(['function', 'size KB', 'median import ms', 'x bare']).join('  '));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) {
  console.log(
    cells([
      r.fn,
      (r.bytes / 1024).toFixed(1),
      r.importMs.toFixed(1),
      r.fn === BARE ? '1.00' : r.ratio.toFixed(2),
    ]).join('  '),
  );
}

const functions = rows.filter((r) => r.fn !== BARE);
const maxRatio = Math.max(...functions.map((r) => r.ratio));
const overBudget = functions.filter((r) => r.ratio > BUDGET).map((r) => r.fn);
console.log();
console.log(
  `budget: no function imports more than ${BUDGET}x the bare one (${bareMs.toFixed(1)} ms, ${(bare.bytes / 1024).toFixed(1)} KB); max ${maxRatio.toFixed(2)}x`,
);
console.log(
  overBudget.length === 0
    ? 'within budget: every function'
    : `over budget (${overBudget.length} of ${functions.length}): ${overBudget.join(', ')}`,
);
if (networked.length > 0) {
  console.log(`WARNING: importing opened connections: ${networked.join('; ')}`);
}
const spreads = bundles.map((b) => {
  const sorted = [...b.samples].sort((x, y) => x - y);
  const q = (f: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] as number;
  return (q(0.75) - q(0.25)) / median(b.samples);
});
console.log(
  `measured ${runs} x ${bundles.length} imports in ${measureSeconds.toFixed(0)} s; noise: median interquartile spread ${(100 * median(spreads)).toFixed(0)}% of the median`,
);
if (args.keep) console.log(`bundles and metafiles kept in ${outRoot}`);

console.log(
  JSON.stringify({
    bare: { bytes: bare.bytes, importMs: round(bareMs, 1) },
    functions: functions.map((r) => ({
      fn: r.fn,
      bytes: r.bytes,
      importMs: round(r.importMs, 1),
      ratio: round(r.ratio, 2),
    })),
    maxRatio: round(maxRatio, 2),
    overBudget,
    runs,
  }),
);
