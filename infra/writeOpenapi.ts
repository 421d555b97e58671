/**
 * Writes lib/openapi.json, the document GET /v1/openapi.json serves, from the route table
 * and the zod schemas (lib/openapi/). The function bundles the JSON, not zod and the
 * generator, so it starts as fast as the others. A unit test fails when the file is stale.
 *
 *   npm run openapi
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from '../lib/openapi/document.ts';
import { projectRoot } from './paths.ts';

const target = join(projectRoot, 'lib', 'openapi.json');
writeFileSync(target, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log(`wrote ${target}`);
