import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { windowClass } from '../../lib/domain/campaigns.ts';
import { campaignsOver, forgetCachedCampaigns } from '../../lib/store/campaigns.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import { createCampaign, patchCampaign } from '../../lib/usecases/campaigns.ts';
import { startTestTable } from '../support/table.ts';

/**
 * A table from before the window index (a LIVE item without `classes`, campaigns without
 * their window items): old campaigns still apply, and the next campaign saved indexes them.
 */
const DAY = 86_400_000;
const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY);

beforeAll(async () => {
  await startTestTable();
});

/** A bonus campaign stored as before the window index (no window item), `days` ago [from, to). */
async function storeLegacyCampaign(id: string, from: number, to: number) {
  const campaign = {
    id,
    name: id.slice('cmp_'.length),
    type: 'bonus' as const,
    points: 100,
    startsAt: at(from).toISOString(),
    endsAt: at(to).toISOString(),
    createdAt: at(from).toISOString(),
  };
  await put({ ...keys.campaign(id), ...campaign, endsAtKey: campaign.endsAt, rev: 1 });
  return campaign;
}

const put = (Item: Record<string, unknown>) =>
  db().send(new PutCommand({ TableName: tableName(), Item }));

describe('a table from before the window index', () => {
  it('finds a campaign ended long ago, and indexes it when a campaign is next saved', async () => {
    const old = await storeLegacyCampaign('cmp_legacy', 600, 500);
    // As the LIVE item was written then: the campaign ended long ago, so it was left out.
    await put({ ...keys.liveCampaigns(), campaigns: [], version: 1 });
    forgetCachedCampaigns();

    expect((await campaignsOver(at(550))).map((c) => c.id)).toEqual([old.id]);
    expect(await campaignsOver(at(0))).toEqual([]);

    await createCampaign(
      { name: 'new', type: 'bonus', points: 5 },
      { scope: 'k', key: randomUUID(), requestHash: 'h' },
    );
    const indexed = await db().send(
      new GetCommand({
        TableName: tableName(),
        Key: keys.campaignWindow(windowClass(old), old.startsAt, old.id),
      }),
    );
    expect(indexed.Item).toMatchObject({ id: old.id, endsAt: old.endsAt });
    const live = await db().send(
      new GetCommand({ TableName: tableName(), Key: keys.liveCampaigns() }),
    );
    expect(live.Item?.classes).toEqual(expect.arrayContaining([windowClass(old)]));
    forgetCachedCampaigns();
    expect((await campaignsOver(at(550))).map((c) => c.id)).toContain(old.id);
  });
});

describe('campaigns that aged out of the LIVE item since it was last written', () => {
  it('still count against a campaign saved beside them: a 21st for their window is refused 100 days on', async () => {
    const t0 = Date.now();
    // Ended 340 days before t0: kept in LIVE at t0, ended 440 days before t0 + 100 days.
    const window = {
      startsAt: new Date(t0 - 350 * DAY).toISOString(),
      endsAt: new Date(t0 - 340 * DAY).toISOString(),
    };
    const create = (i: number, now: Date) =>
      createCampaign(
        { name: `aged-${i}`, type: 'bonus', points: 5, ...window, match: { skus: [`aged-${i}`] } },
        { scope: 'k', key: randomUUID(), requestHash: 'h' },
        now,
      );
    for (let i = 0; i < 20; i++) await create(i, new Date(t0));
    await expect(create(20, new Date(t0))).rejects.toMatchObject({ code: 'conflict' });

    // No save in between: the LIVE item still holds the 20, which no longer belong in it.
    await expect(create(20, new Date(t0 + 100 * DAY))).rejects.toMatchObject({
      code: 'conflict',
    });
    forgetCachedCampaigns();
    const inForce = await campaignsOver(new Date(t0 - 345 * DAY));
    expect(inForce.filter((c) => c.name.startsWith('aged-'))).toHaveLength(20);
  });
});

describe('a PATCH while the window index is being built', () => {
  it('leaves no copy of the campaign at its old window for the build to bring back', async () => {
    const moving = await storeLegacyCampaign('cmp_moving', 800, 700);
    // The LIVE item as from before the window index: no classes (and so no index read).
    const live = await db().send(
      new GetCommand({ TableName: tableName(), Key: keys.liveCampaigns(), ConsistentRead: true }),
    );
    const { classes: _, leftOutFrom: __, leftOutUntil: ___, ...legacy } = live.Item ?? {};
    await put({ ...legacy, ...keys.liveCampaigns(), version: (live.Item?.version ?? 0) + 1 });
    forgetCachedCampaigns();

    // The next save builds the index; just after it read the campaigns, a PATCH shortens
    // this one from 100 days to 10 (another window class).
    const stack = db().middlewareStack;
    let patched = false;
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const read = JSON.stringify(args.input);
        if (!patched && context.commandName === 'QueryCommand' && read.includes('CAMPAIGN#')) {
          patched = true;
          await patchCampaign(moving.id, { endsAt: at(790).toISOString() });
        }
        return result;
      },
      { step: 'initialize', name: 'patchDuringIndexBuild' },
    );
    try {
      await createCampaign(
        { name: 'builds the index', type: 'bonus', points: 5 },
        { scope: 'k', key: randomUUID(), requestHash: 'h' },
      );
    } finally {
      stack.remove('patchDuringIndexBuild');
    }
    expect(patched).toBe(true);

    const oldCopy = await db().send(
      new GetCommand({
        TableName: tableName(),
        Key: keys.campaignWindow(windowClass(moving), moving.startsAt, moving.id),
        ConsistentRead: true,
      }),
    );
    expect(oldCopy.Item).toBeUndefined();
    forgetCachedCampaigns();
    expect((await campaignsOver(at(795))).map((c) => c.id)).toContain(moving.id);
    expect((await campaignsOver(at(750))).map((c) => c.id)).not.toContain(moving.id);
  });
});
