/**
 * The layers, read from the imports alone (type-only imports included): no import circle,
 * and no import up. Bottom to top: lib/domain, the store (lib/store, lib/webhooks), the use
 * cases (lib/usecases, lib/events), the route table (lib/routes.ts), lib/http, and on top
 * the rest (lib/local, lib/import, lib/console, functions, infra). The shared leaves
 * (errors, config, ids, principal, schemas, tokens) any layer may import; the domain imports
 * nothing but the domain and those leaves. lib/openapi is the published document's text:
 * only itself, lib/http, functions and infra import it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const SHARED = new Set(
  ['errors', 'config', 'ids', 'principal', 'schemas', 'tokens'].map((f) => `lib/${f}.ts`),
);

/** A file's layer and its height; imports may only go to the same height or lower. */
function layerOf(file: string): [string, number] {
  if (SHARED.has(file)) return ['shared', -1];
  if (file.startsWith('lib/domain/')) return ['domain', 0];
  if (file.startsWith('lib/store/') || file.startsWith('lib/webhooks/')) return ['store', 1];
  if (file.startsWith('lib/usecases/') || file.startsWith('lib/events/')) return ['usecases', 2];
  if (file === 'lib/routes.ts') return ['routes', 3];
  if (file.startsWith('lib/http/')) return ['http', 4];
  if (file.startsWith('lib/openapi/')) return ['openapi', 5];
  return ['top', 6];
}

const mayImportOpenapi = (file: string) =>
  ['lib/openapi/', 'lib/http/', 'functions/', 'infra/'].some((dir) => file.startsWith(dir));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter(
      (entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'),
    )
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Every file under lib/, functions/ and infra/, with the files of those it imports. */
function importGraph(): Map<string, string[]> {
  const files = ['lib', 'functions', 'infra'].flatMap(sourceFiles);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = importedFiles
      .map(({ fileName }) => fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(root, resolve(root, dirname(file), name)))
      .map((name) =>
        name.endsWith('.ts') || !existsSync(join(root, `${name}.ts`)) ? name : `${name}.ts`,
      )
      .filter((name) => name.endsWith('.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w !== undefined) {
          onStack.delete(w);
          component.push(w);
        }
      } while (w !== undefined && w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function importsUp(graph: Map<string, string[]>): string[] {
  const up: string[] = [];
  for (const [from, targets] of graph) {
    const [fromLayer, fromHeight] = layerOf(from);
    for (const to of targets) {
      const [toLayer, toHeight] = layerOf(to);
      const wrong =
        toLayer === 'openapi'
          ? !mayImportOpenapi(from)
          : fromLayer === 'shared'
            ? toLayer !== 'shared' && toLayer !== 'domain'
            : toHeight > fromHeight;
      if (wrong) up.push(`${from} (${fromLayer}) -> ${to} (${toLayer})`);
    }
  }
  return up.sort();
}

describe('the layers, read from the imports', () => {
  const graph = importGraph();

  it('sees the files and their imports', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('lib/http/handler.ts')).toContain('lib/routes.ts');
    expect(graph.get('lib/store/idempotency.ts')).toContain('lib/principal.ts');
  });

  it('has no import circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('has no import up the layers, type-only imports included', () => {
    expect(importsUp(graph)).toEqual([]);
  });
});
