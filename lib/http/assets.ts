import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';

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
