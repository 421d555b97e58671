import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDays, type DayStats, utcDay } from '../../lib/domain/dayStats.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import {
  DAY_MARKS,
  DAY_SHARDS,
  dayStatsItems,
  finishRollUp,
  RECENT_DAYS,
  readRollUpState,
} from '../../lib/store/reports.ts';
import { startTestTable } from '../support/table.ts';

/**
 * The marks of changes written to days already old (lib/store/reports.ts), on DynamoDB
 * Local: which day (or month) a change marks, the earliest day a report must compute from,
 * and that the roll-up takes off only what it read, so a change marked meanwhile keeps its
 * mark and the mark items do not grow. Days are placed relative to now.
 */
const today = () => utcDay(new Date());

/** Writes counts on `days` in one transaction, as a till or an import would. */
async function change(days: string[]): Promise<void> {
  const stats: DayStats = new Map(days.map((day) => [day, { purchases: 1 }]));
  await db().send(new TransactWriteCommand({ TransactItems: dayStatsItems(stats) }));
}

/** Every mark attribute on every shard's mark item, summed by name. */
async function markItems(): Promise<{ marks: Record<string, number>; attributes: number }> {
  const marks: Record<string, number> = {};
  let attributes = 0;
  for (let shard = 0; shard < DAY_SHARDS; shard++) {
    const { Item } = await db().send(
      new GetCommand({
        TableName: tableName(),
        Key: keys.staleMonths(shard),
        ConsistentRead: true,
      }),
    );
    const { PK: _pk, SK: _sk, ...rest } = (Item ?? {}) as Record<string, number>;
    for (const [name, n] of Object.entries(rest)) {
      attributes += 1;
      marks[name] = (marks[name] ?? 0) + n;
    }
  }
  return { marks, attributes };
}

beforeAll(async () => {
  await startTestTable();
});

describe('the marks of changes to old days', () => {
  it('mark a day, a month past DAY_MARKS days, and nothing within RECENT_DAYS', async () => {
    const recent = addDays(today(), -RECENT_DAYS);
    const old = addDays(today(), -(RECENT_DAYS + 1));
    const lastByDay = addDays(today(), -(DAY_MARKS - 1));
    const byMonth = addDays(today(), -(DAY_MARKS + 30));
    await change([today(), recent]);
    expect((await readRollUpState()).staleFrom).toBeUndefined();
    expect((await markItems()).attributes).toBe(0);

    await change([old]);
    await change([old, lastByDay]);
    expect((await markItems()).marks).toEqual({ [`m${old}`]: 2, [`m${lastByDay}`]: 1 });
    expect((await readRollUpState()).staleFrom).toBe(lastByDay);

    await change([byMonth]);
    expect((await markItems()).marks).toMatchObject({ [`m${byMonth.slice(0, 7)}`]: 1 });
    expect((await readRollUpState()).staleFrom).toBe(`${byMonth.slice(0, 7)}-01`);
  });

  it('are taken off by the roll-up, but for those written meanwhile, and leave no attribute', async () => {
    const state = await readRollUpState();
    expect(state.staleFrom).toBeDefined();
    // A change after the roll-up read the state, on a day already marked and a new one.
    const old = addDays(today(), -(RECENT_DAYS + 1));
    const other = addDays(today(), -(RECENT_DAYS + 5));
    for (let i = 0; i < 40; i++) await change([old, other]);
    await finishRollUp(state, addDays(today(), -(RECENT_DAYS + 2)));

    const after = await readRollUpState();
    expect(after.rolledThrough).toBe(addDays(today(), -(RECENT_DAYS + 2)));
    // Only what was written meanwhile is still marked: the earliest is `other`.
    expect(after.staleFrom).toBe(other);
    const { marks } = await markItems();
    const positive = Object.fromEntries(Object.entries(marks).filter(([, n]) => n !== 0));
    expect(positive).toEqual({ [`m${old}`]: 40, [`m${other}`]: 40 });

    // The next run takes those off too, and the zeros the raced run left: the items are
    // left without a mark.
    await finishRollUp(after, addDays(today(), -(RECENT_DAYS + 2)));
    expect((await readRollUpState()).staleFrom).toBeUndefined();
    expect(await markItems()).toEqual({ marks: {}, attributes: 0 });
  });
});
