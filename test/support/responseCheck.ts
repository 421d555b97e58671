/**
 * Every JSON answer the tests get through the shared client (support/api.ts) is checked
 * against the OpenAPI document: the operation's response for the status returned, with
 * any property the document does not declare refused (as if every object schema said
 * `unevaluatedProperties: false`). A field the API returns is a field integrators rely on,
 * so it is declared, with its meaning. The document is built as `npm run openapi` writes
 * lib/openapi.json, from lib/openapi/*.ts and lib/schemas/*.ts, so a declaration counts as
 * soon as it is made.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../lib/openapi/document.ts';

type Json = Record<string, any>;

/** The schema with `unevaluatedProperties: false` on each object that lists its properties. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) out[k] = closed(v);
  if (
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    out.unevaluatedProperties === undefined
  ) {
    out.unevaluatedProperties = false;
  }
  return out;
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  id: string;
  responses: Json;
}

let built: { operations: Operation[]; ajv: Ajv2020; components: unknown } | undefined;
const compiled = new Map<string, ValidateFunction>();

function document() {
  if (built) return built;
  const doc = openApiDocument() as Json;
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) {
      if (!op || typeof op !== 'object' || !('responses' in op)) continue;
      operations.push({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}/?$`),
        id: op.operationId,
        responses: op.responses,
      });
    }
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  built = { operations, ajv, components: closed(doc.components) };
  return built;
}

function describeError(e: ErrorObject): string {
  // One line per field, not per item of a page: /items/*/field.
  const path = e.instancePath.replace(/\/\d+(?=\/|$)/g, '/*');
  const at = path || '(the body)';
  if (e.keyword === 'unevaluatedProperties') {
    const name = (e.params as { unevaluatedProperty: string }).unevaluatedProperty;
    return `${path}/${name}: not declared`;
  }
  if (e.keyword === 'additionalProperties') {
    const name = (e.params as { additionalProperty: string }).additionalProperty;
    return `${path}/${name}: not declared`;
  }
  return `${at}: ${e.message}`;
}

/**
 * What is wrong with an answer by the document, or undefined when it conforms (or is not
 * JSON, or is for a path the document does not have: the fallback 404).
 */
export function responseProblem(
  method: string,
  path: string,
  status: number,
  contentType: string | null,
  body: unknown,
): string | undefined {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!/^application\/([\w.+-]+\+)?json$/.test(mediaType)) return undefined;
  const { operations, ajv, components } = document();
  const bare = path.split('?')[0] as string;
  const op = operations.find((o) => o.method === method && o.pattern.test(bare));
  if (!op) return undefined;
  const name = `${method} ${op.template} (${op.id})`;
  const response = op.responses[String(status)] as Json | undefined;
  if (!response) return `${name} answered ${status}, a status the document does not declare`;
  const content = response.content as Json | undefined;
  const schema = content?.[mediaType]?.schema;
  if (schema === undefined) {
    return `${name} answered ${status} in ${mediaType}, which the document does not declare`;
  }
  const key = `${method} ${op.template} ${status} ${mediaType}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile({ ...(closed(schema) as Json), components });
    compiled.set(key, validate);
  }
  if (validate(body)) return undefined;
  const errors = [...new Set((validate.errors ?? []).map(describeError))];
  return (
    `${name} answered ${status} with a body that does not conform to the OpenAPI document ` +
    `(declare the field in lib/openapi/*.ts, or do not return it): ${errors.join('; ')}`
  );
}
