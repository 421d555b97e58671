import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where a package file (`redoc/bundles/redoc.standalone.js`) is in this checkout's node_modules. */
export const assetSource = (specifier: string): string =>
  createRequire(import.meta.url).resolve(specifier);

const read = new Map<string, string>();

/**
 * A package file that a route lists in `assets` (lib/routes.ts), as text. In AWS the CDK
 * stack copied it next to the function's bundle (index.mjs), so it is read from there;
 * locally (and in tests) it comes from node_modules. Read once per container.
 */
export function readAsset(specifier: string): string {
  let text = read.get(specifier);
  if (text === undefined) {
    const besideBundle = new URL(basename(specifier), import.meta.url);
    text = readFileSync(existsSync(besideBundle) ? besideBundle : assetSource(specifier), 'utf8');
    read.set(specifier, text);
  }
  return text;
}

/**
 * Redoc's bundle as GET /docs serves it. Its menu footer shows Redocly's logo from their
 * CDN, which the page's content security policy refuses (a console error on every load),
 * and no Redoc option turns it off: the image is an empty inline one instead (data: is
 * allowed).
 */
export const withoutRedoclyLogo = (script: string): string =>
  script.replaceAll(
    'https://cdn.redoc.ly/redoc/logo-mini.svg',
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E",
  );

/**
 * Where the local server builds the merchant console (lib/console/bundle.ts): build/console/
 * in the checkout, not committed.
 */
export const LOCAL_CONSOLE_DIR = fileURLToPath(new URL('../../build/console/', import.meta.url));

/**
 * A file of the built console, as text: in AWS from `console/` next to the function's
 * bundle (the stack builds it there at synth), locally from LOCAL_CONSOLE_DIR. Read once
 * per container.
 */
export function readConsoleFile(name: string): string {
  const key = `console/${name}`;
  let text = read.get(key);
  if (text === undefined) {
    const besideBundle = new URL(key, import.meta.url);
    text = readFileSync(
      existsSync(besideBundle) ? besideBundle : join(LOCAL_CONSOLE_DIR, name),
      'utf8',
    );
    read.set(key, text);
  }
  return text;
}
