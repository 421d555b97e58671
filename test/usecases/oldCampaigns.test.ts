import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { windowClass } from '../../lib/domain/campaigns.ts';
import { campaignsOver, forgetCachedCampaigns } from '../../lib/store/campaigns.ts';
import { db, tableName } from '../../lib/store/client.ts';
import { keys } from '../../lib/store/keys.ts';
import { createCampaign } from '../../lib/usecases/campaigns.ts';
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

describe('a table from before the window index', () => {
  it('finds a campaign ended long ago, and indexes it when a campaign is next saved', async () => {
    const old = {
      id: 'cmp_legacy',
      name: 'old',
      type: 'bonus' as const,
      points: 100,
      startsAt: at(600).toISOString(),
      endsAt: at(500).toISOString(),
      createdAt: at(600).toISOString(),
    };
    const put = (Item: Record<string, unknown>) =>
      db().send(new PutCommand({ TableName: tableName(), Item }));
    await put({ ...keys.campaign(old.id), ...old, endsAtKey: old.endsAt, rev: 1 });
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
