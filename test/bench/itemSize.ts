/**
 * DynamoDB item sizes, by the rules AWS documents for capacity units:
 * - an item = sum over its attributes of (name UTF-8 bytes + value size);
 * - string = UTF-8 bytes; binary = bytes; number = about (significant digits + 1) / 2 + 1
 *   bytes (here ceil(digits / 2) + 1); boolean and null = 1 byte;
 * - map and list = 3 bytes + sum of their elements + 1 byte per element (a map element
 *   also counts its name's bytes); a set = the sum of its elements.
 *
 * onDynamoCall sees what the DocumentClient was given (plain JS values: strings,
 * numbers, objects...), not the marshalled AttributeValue form; both are handled:
 * `itemSize` detects an item in AttributeValue form ({S}, {N}, {M}...) and measures it as such.
 */
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** Significant digits of a number's decimal text, leading and trailing zeros dropped. */
export function significantDigits(text: string): number {
  const mantissa = (text.split(/e/i)[0] ?? '').replace(/^[+-]/, '').replace('.', '');
  const digits = mantissa.replace(/^0+/, '').replace(/0+$/, '');
  return Math.max(1, digits.length);
}

export const numberSize = (text: string) => Math.ceil(significantDigits(text) / 2) + 1;

const isBinary = (v: unknown): v is Uint8Array | ArrayBuffer =>
  v instanceof Uint8Array || v instanceof ArrayBuffer;

const binarySize = (v: Uint8Array | ArrayBuffer | string) =>
  typeof v === 'string' ? Buffer.from(v, 'base64').length : v.byteLength;

/** Size of one plain JS value as the DocumentClient would store it. */
export function valueSize(value: unknown): number {
  if (value === null || value === undefined) return 1;
  switch (typeof value) {
    case 'string':
      return utf8(value);
    case 'number':
    case 'bigint':
      return numberSize(String(value));
    case 'boolean':
      return 1;
  }
  if (isBinary(value)) return binarySize(value);
  if (value instanceof Set) {
    let size = 0;
    for (const element of value) size += valueSize(element);
    return size;
  }
  if (Array.isArray(value)) return 3 + value.reduce((sum, v) => sum + valueSize(v) + 1, 0);
  // lib-dynamodb's NumberValue keeps a number's exact text in `value`.
  if (value.constructor?.name === 'NumberValue') return numberSize(String((value as any).value));
  let size = 3;
  for (const [name, v] of Object.entries(value)) {
    if (v === undefined) continue; // removeUndefinedValues drops these
    size += utf8(name) + valueSize(v) + 1;
  }
  return size;
}

const AV_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

function isAttributeValue(v: unknown): v is Record<string, any> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || isBinary(v)) return false;
  const names = Object.keys(v);
  return names.length === 1 && AV_TYPES.has(names[0] as string);
}

/** Size of one marshalled AttributeValue ({S: "x"}, {N: "1"}, {M: {...}}...). */
export function attributeValueSize(av: Record<string, any>): number {
  if ('S' in av) return utf8(av.S);
  if ('N' in av) return numberSize(av.N);
  if ('B' in av) return binarySize(av.B);
  if ('BOOL' in av || 'NULL' in av) return 1;
  if ('SS' in av) return (av.SS as string[]).reduce((s, x) => s + utf8(x), 0);
  if ('NS' in av) return (av.NS as string[]).reduce((s, x) => s + numberSize(x), 0);
  if ('BS' in av) return (av.BS as Uint8Array[]).reduce((s, x) => s + binarySize(x), 0);
  if ('L' in av) return 3 + (av.L as any[]).reduce((s, x) => s + attributeValueSize(x) + 1, 0);
  if ('M' in av) {
    let size = 3;
    for (const [name, v] of Object.entries(av.M as Record<string, any>))
      size += utf8(name) + attributeValueSize(v) + 1;
    return size;
  }
  throw new Error(`Not an AttributeValue: ${JSON.stringify(av)}`);
}

/** True when every attribute of the item is in AttributeValue form. */
export function isMarshalledItem(item: Record<string, unknown>): boolean {
  const values = Object.values(item);
  return values.length > 0 && values.every(isAttributeValue);
}

/** The DynamoDB size in bytes of an item, plain or marshalled. */
export function itemSize(item: Record<string, unknown>): number {
  const marshalled = isMarshalledItem(item);
  let size = 0;
  for (const [name, v] of Object.entries(item)) {
    if (v === undefined) continue;
    size += utf8(name) + (marshalled ? attributeValueSize(v as Record<string, any>) : valueSize(v));
  }
  return size;
}
