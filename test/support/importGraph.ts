/**
 * The layers, read from the imports alone (type-only imports included): no import circle,
 * and no import up. Bottom to top: lib/domain, the store (lib/store, lib/webhooks, lib/exports), the use
 * cases (lib/usecases, lib/events), the route table (lib/routes.ts), lib/http, and on top
 * the rest (lib/local, lib/import, lib/console, functions, infra). The shared leaves
 * (errors, config, ids, principal, tokens, and every file of lib/schemas/) any layer may
 * import; the domain imports nothing but the domain and those leaves. lib/openapi is the published document's text:
 * only itself, lib/http, functions and infra import it.
 *
 * The store is a closed door: only lib/store (and lib/local, infra) imports the DynamoDB
 * SDK, and what is above it asks it in the domain's words, never for its keys, its table,
 * its raw reads or queries (store/keys, client, reads, table, and pagination's queries;
 * their types, and the cursor codec, may be named).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SHARED = new Set(
  ['errors', 'config', 'ids', 'principal', 'tokens'].map((f) => `lib/${f}.ts`),
);

/** A file's layer and its height; imports may only go to the same height or lower. */
function layerOf(file: string): [string, number] {
  if (SHARED.has(file) || file.startsWith('lib/schemas/')) return ['shared', -1];
  if (file.startsWith('lib/domain/')) return ['domain', 0];
  if (['lib/store/', 'lib/webhooks/', 'lib/exports/'].some((dir) => file.startsWith(dir))) {
    return ['store', 1];
  }
  if (file.startsWith('lib/usecases/') || file.startsWith('lib/events/')) return ['usecases', 2];
  if (file === 'lib/routes.ts' || file.startsWith('lib/routes/')) return ['routes', 3];
  if (file.startsWith('lib/http/')) return ['http', 4];
  if (file.startsWith('lib/openapi/')) return ['openapi', 5];
  return ['top', 6];
}

const mayImportOpenapi = (file: string) =>
  ['lib/openapi/', 'lib/http/', 'functions/', 'infra/'].some((dir) => file.startsWith(dir));

function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter(
      (entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'),
    )
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Every file under lib/, functions/ and infra/, with the files of those it imports. */
export function importGraph(root: string): Map<string, string[]> {
  const files = ['lib', 'functions', 'infra'].flatMap((dir) => sourceFiles(root, dir));
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
export function circles(graph: Map<string, string[]>): string[][] {
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

export function importsUp(graph: Map<string, string[]>): string[] {
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

const DYNAMODB_SDK = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/util-dynamodb',
];

/** The store's insides: no value they export is imported from above the store. */
const STORE_INSIDES: Record<string, ((name: string) => boolean) | undefined> = {
  'lib/store/keys.ts': () => true,
  'lib/store/client.ts': () => true,
  'lib/store/reads.ts': () => true,
  'lib/store/table.ts': () => true,
  'lib/store/pagination.ts': (name) => name === 'queryPage' || name === 'queryPages',
};

export const insideTheStore = (file: string) =>
  ['lib/store/', 'lib/local/', 'infra/'].some((dir) => file.startsWith(dir));

/** Imports of the DynamoDB SDK, and of the store's insides, from outside the store. */
export function throughTheDoor(root: string, files: string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (insideTheStore(file)) continue;
    const source = ts.createSourceFile(
      file,
      readFileSync(join(root, file), 'utf8'),
      ts.ScriptTarget.Latest,
    );
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
      const specifier = statement.moduleSpecifier;
      if (specifier === undefined || !ts.isStringLiteral(specifier)) continue;
      const name = specifier.text;
      if (DYNAMODB_SDK.includes(name)) {
        found.push(`${file} imports ${name}`);
        continue;
      }
      if (!name.startsWith('.')) continue;
      const target = relative(root, resolve(root, dirname(file), name));
      const forbidden = STORE_INSIDES[target];
      if (forbidden === undefined) continue;
      const clause = ts.isImportDeclaration(statement) ? statement.importClause : undefined;
      if (clause?.isTypeOnly || (ts.isExportDeclaration(statement) && statement.isTypeOnly)) {
        continue;
      }
      const bindings = clause?.namedBindings;
      const names =
        bindings && ts.isNamedImports(bindings)
          ? bindings.elements
              .filter((e) => !e.isTypeOnly)
              .map((e) => (e.propertyName ?? e.name).text)
          : ['*'];
      for (const n of names)
        if (n === '*' || forbidden(n)) found.push(`${file} imports ${n} from ${target}`);
    }
  }
  return found.sort();
}

/** Files of lib/, functions/ and infra/ over `lines` lines, but the generated and the OpenAPI text. */
export function bigFiles(root: string, graph: Map<string, string[]>, lines = 600): string[] {
  const generated = new Set(['lib/console/api.gen.ts']);
  return [...graph.keys()]
    .filter((file) => !generated.has(file) && !file.startsWith('lib/openapi/'))
    .map((file) => [file, readFileSync(join(root, file), 'utf8').split('\n').length - 1] as const)
    .filter(([, n]) => n > lines)
    .sort((a, b) => b[1] - a[1])
    .map(([file, n]) => `${file} (${n})`);
}

/** `npm run layers [root]`: the figures of the import graph of a checkout. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? '.');
  const graph = importGraph(root);
  const arrows = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
  const found = circles(graph);
  const up = importsUp(graph);
  const door = throughTheDoor(root, [...graph.keys()]);
  const big = bigFiles(root, graph);
  console.log(`${graph.size} files, ${arrows} imports between them`);
  console.log(`circles: ${found.length}${found.map((c) => ` (${c.length} files)`).join('')}`);
  console.log(`imports up the layers: ${up.length}`);
  for (const line of up) console.log(`  ${line}`);
  console.log(`DynamoDB SDK or store insides imported above the store: ${door.length}`);
  for (const line of door) console.log(`  ${line}`);
  console.log(`files over 600 lines (not generated, not OpenAPI text): ${big.length}`);
  for (const line of big) console.log(`  ${line}`);
}
