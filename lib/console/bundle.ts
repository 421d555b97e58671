/**
 * Builds the merchant console (this folder) with esbuild into one page: `index.html` with
 * the browser code (the console, openapi-fetch and uPlot, one ES module) and the styles
 * (ours and uPlot's) inside it, and `hashes.json`, the SHA-256 of each, which the page's
 * content security policy allows and nothing else. One page is one route and one function
 * in AWS (a CloudFormation stack holds at most 500 resources) and one request per visit.
 * The CDK stack runs this at synth, next to the console function's bundle; the local server
 * runs it before it first serves the console. Nothing it writes is committed.
 *
 *   tsx lib/console/bundle.ts <outdir>
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** The files a build writes, which the console's function serves. */
export const CONSOLE_FILES = ['index.html', 'hashes.json'] as const;

/** What the page's content security policy allows: exactly its inline script and styles. */
export interface ConsoleHashes {
  /** `sha256-<base64>` of the inline script. */
  script: string;
  /** `sha256-<base64>` of the inline styles. */
  style: string;
}

const source = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const sha256 = (text: string) => `sha256-${createHash('sha256').update(text).digest('base64')}`;

/**
 * Writes a file whole or not at all (a temporary file, then a rename): test files build the
 * console in parallel into one directory, and a reader must never see half a file.
 */
function writeWhole(path: string, contents: string): void {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

export async function bundleConsole(outdir: string): Promise<void> {
  const result = await build({
    entryPoints: { app: source('app.ts') },
    bundle: true,
    format: 'esm',
    // Browsers of the last few years: ES2022 and CSS nesting need no lowering there.
    target: ['es2022', 'chrome111', 'edge111', 'firefox114', 'safari16.5'],
    platform: 'browser',
    minify: true,
    legalComments: 'eof',
    charset: 'utf8',
    outdir: join(outdir, 'esbuild'),
    write: false,
    logLevel: 'silent',
  });
  const output = (ext: string) => {
    const file = result.outputFiles.find((f) => extname(f.path) === ext);
    if (!file) throw new Error(`the console build made no ${ext} file`);
    return file.text;
  };
  const script = output('.js');
  const style = output('.css');
  // Inside the page, these would end the element or open a comment early; esbuild escapes
  // them in strings, so their absence is checked rather than assumed.
  if (/<\/script|<!--|<script/i.test(script) || /<\/style/i.test(style)) {
    throw new Error('the console bundle holds text that would break out of its inline element');
  }
  const page = readFileSync(source('index.html'), 'utf8')
    .replace('<!-- styles -->', () => `<style>${style}</style>`)
    .replace('<!-- script -->', () => `<script type="module">${script}</script>`);
  const hashes: ConsoleHashes = { script: sha256(script), style: sha256(style) };
  mkdirSync(outdir, { recursive: true });
  writeWhole(join(outdir, 'index.html'), page);
  writeWhole(join(outdir, 'hashes.json'), `${JSON.stringify(hashes)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outdir = process.argv[2];
  if (!outdir) {
    console.error('usage: tsx lib/console/bundle.ts <outdir>');
    process.exit(2);
  }
  await bundleConsole(outdir);
}
