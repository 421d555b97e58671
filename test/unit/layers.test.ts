/**
 * The layers (test/support/importGraph.ts), read from the imports alone (type-only imports included): no import circle,
 * and no import up. Bottom to top: lib/domain, the store (lib/store, lib/webhooks), the use
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
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  circles,
  importGraph,
  importsUp,
  insideTheStore,
  throughTheDoor,
} from '../support/importGraph.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('the layers, read from the imports', () => {
  const graph = importGraph(root);

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

  it('keeps the store a closed door: no DynamoDB SDK, keys, table or raw reads above it', () => {
    const files = [...graph.keys()];
    expect(files.filter(insideTheStore).length).toBeGreaterThan(20);
    expect(throughTheDoor(root, files)).toEqual([]);
  });
});
