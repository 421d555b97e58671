/**
 * What the benchmarks share: percentiles, a worker pool, and the accounting of every
 * DynamoDB call the handlers make (calls by label, capacity units computed from item
 * sizes, since DynamoDB Local does not charge like DynamoDB).
 */
import { type IndexDefinition, tableDefinition } from '../../lib/store/table.ts';
import { itemSize } from './itemSize.ts';
import { prng } from './workload.ts';

export const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export async function pool<T>(
  items: readonly T[],
  workers: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(workers, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export function sampleOf<T>(items: readonly T[], n: number, seedValue: number): T[] {
  if (items.length <= n) return [...items];
  const random = prng(seedValue);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
}

export const pad = (s: string | number, n: number) => String(s).padStart(n);

// ---------------------------------------------------------------- DynamoDB accounting

/** The items as last written by a Put, by key: what an index entry was before a write moves it. */
const lastPut = new Map<string, Record<string, unknown>>();
const keyOf = (item: Record<string, unknown>) => `${item.PK}|${item.SK}`;
const kb = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** The index entry an item makes in `index` (its projected attributes), or undefined. */
function entryOf(item: Record<string, unknown> | undefined, index: IndexDefinition) {
  if (item?.[index.partitionKey] === undefined || item[index.sortKey] === undefined) return;
  if (!index.keysOnly && !index.include) return item;
  const names = ['PK', 'SK', index.partitionKey, index.sortKey, ...(index.include ?? [])];
  return Object.fromEntries(names.filter((n) => item[n] !== undefined).map((n) => [n, item[n]]));
}

/**
 * Write units a Put of `item` costs in the table's indexes, as DynamoDB bills them: per
 * index, nothing when its entry is unchanged, one write of the entry's size (per KB) when
 * one is added, removed or rewritten in place, two when its key moved (a delete and a put).
 * The item's earlier state is the one this process last put (an item written by an
 * Update the listener cannot see is taken as it was). Remembers `item` for the next.
 */
export function indexUnits(item: Record<string, unknown>, byIndex?: Map<string, number>): number {
  const before = lastPut.get(keyOf(item));
  lastPut.set(keyOf(item), item);
  let total = 0;
  for (const index of tableDefinition.globalSecondaryIndexes) {
    const [was, now] = [entryOf(before, index), entryOf(item, index)];
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    const moved =
      was !== undefined &&
      now !== undefined &&
      (was[index.partitionKey] !== now[index.partitionKey] ||
        was[index.sortKey] !== now[index.sortKey]);
    const units = (moved ? 2 : 1) * kb(itemSize(now ?? was ?? {}));
    total += units;
    byIndex?.set(index.indexName, (byIndex.get(index.indexName) ?? 0) + units);
  }
  return total;
}

/** What the handlers asked of DynamoDB during one phase of the run. */
export class Usage {
  calls = new Map<string, number>();
  /** Write units, index entries included. */
  wcu = 0;
  /** Of wcu, the index entries' (indexUnits), and by index. */
  indexWcu = 0;
  indexWcuByIndex = new Map<string, number>();
  rcu = 0;
  /** Writes whose item size the listener cannot see (Update/Delete/ConditionCheck). */
  unsizedWrites = 0;
  retriedCalls = 0;
  /** Items written (each Put, Update, Delete or ConditionCheck of a write call). */
  itemsWritten = 0;
  sizes = new Map<string, { count: number; total: number; max: number }>();
  /** Wall time of each DynamoDB call (ms, SDK retries included), by label. */
  ms = new Map<string, number[]>();

  get totalCalls(): number {
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof (v as any)?.S === 'string' ? (v as any).S : undefined;

function itemType(item: Record<string, unknown>): string {
  const pk = str(item.PK) ?? '';
  const sk = str(item.SK) ?? '';
  if (pk.startsWith('CUS#')) return sk === 'PROFILE' ? 'customer' : sk.split('#')[0]!.toLowerCase();
  const prefix = pk.split('#')[0]!;
  return (
    {
      PUR: 'purchase',
      IDEM: 'idempotency',
      RECEIPT: 'receipt',
      IDENT: 'identifier',
      STORES: 'store',
    }[prefix] ?? prefix.toLowerCase()
  );
}

export function label(command: string, input: any): string {
  const name = command.replace(/Command$/, '');
  if (name !== 'GetItem') return name;
  const pk = str(input?.Key?.PK) ?? '';
  if (pk.startsWith('KEYHASH#')) return 'GetItem (api key, authorizer)';
  if (pk === 'PROGRAM') return 'GetItem (program)';
  return `GetItem (${itemType(input?.Key ?? {})})`;
}

const sameKey = (item: Record<string, unknown>, key: Record<string, unknown>) =>
  Object.entries(key).every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v));

const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

export function account(usage: Usage, command: string, input: any, output: any): void {
  const name = label(command, input);
  usage.calls.set(name, (usage.calls.get(name) ?? 0) + 1);
  if ((output?.$metadata?.attempts ?? 1) > 1) usage.retriedCalls++;

  const recordPut = (item: Record<string, unknown>, factor: number) => {
    const size = itemSize(item);
    const index = indexUnits(item, usage.indexWcuByIndex);
    usage.wcu += factor * Math.ceil(size / 1024) + index;
    usage.indexWcu += index;
    const type = itemType(item);
    const s = usage.sizes.get(type) ?? { count: 0, total: 0, max: 0 };
    s.count++;
    s.total += size;
    s.max = Math.max(s.max, size);
    usage.sizes.set(type, s);
  };

  switch (command.replace(/Command$/, '')) {
    case 'TransactWriteItems':
      usage.itemsWritten += (input.TransactItems ?? []).length;
      for (const op of input.TransactItems ?? []) {
        if (op.Put) recordPut(op.Put.Item, 2);
        else {
          usage.wcu += 2;
          usage.unsizedWrites++;
        }
      }
      break;
    case 'PutItem':
      usage.itemsWritten++;
      recordPut(input.Item, 1);
      break;
    case 'UpdateItem':
    case 'DeleteItem':
      usage.wcu += 1;
      usage.unsizedWrites++;
      break;
    case 'BatchWriteItem':
      for (const requests of Object.values<any[]>(input.RequestItems ?? {}))
        for (const r of requests) {
          if (r.PutRequest) recordPut(r.PutRequest.Item, 1);
          else {
            usage.wcu += 1;
            usage.unsizedWrites++;
          }
        }
      break;
    case 'GetItem':
      usage.rcu += readUnits(
        output?.Item ? itemSize(output.Item) : 0,
        input.ConsistentRead === true,
      );
      break;
    case 'BatchGetItem':
      for (const [table, request] of Object.entries<any>(input.RequestItems ?? {})) {
        const found: Record<string, unknown>[] = output?.Responses?.[table] ?? [];
        for (const key of request.Keys ?? []) {
          const item = found.find((i) => sameKey(i, key));
          usage.rcu += readUnits(item ? itemSize(item) : 0, request.ConsistentRead === true);
        }
      }
      break;
    case 'TransactGetItems':
      for (const [i] of (input.TransactItems ?? []).entries()) {
        const item = output?.Responses?.[i]?.Item;
        usage.rcu += 2 * readUnits(item ? itemSize(item) : 0, true);
      }
      break;
    case 'Query':
    case 'Scan': {
      const bytes = (output?.Items ?? []).reduce(
        (sum: number, i: Record<string, unknown>) => sum + itemSize(i),
        0,
      );
      usage.rcu += readUnits(bytes, input.ConsistentRead === true);
      break;
    }
  }
}
