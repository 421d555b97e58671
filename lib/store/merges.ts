import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CustomerState, IdentifierKind } from '../domain/customer.ts';
import { campaignMarker } from './campaigns.ts';
import { tableName, writeIf } from './client.ts';
import type { ExtraItem } from './customers.ts';
import { keys } from './keys.ts';
import { lookUp } from './lookups.ts';

/**
 * What a merge writes beside the two customers (usecases/dataRights.ts): the source's
 * identifiers, its own and those it kept from earlier merges, now find the survivor; the
 * campaigns that counted the source count the survivor as one of theirs.
 */

/** Every identifier that finds `c`: its own and its aliases. */
export function identifiersOf(c: CustomerState): { kind: IdentifierKind; value: string }[] {
  const own = (['email', 'phone', 'externalId'] as const).flatMap((kind) =>
    c[kind] === undefined ? [] : [{ kind, value: c[kind] as string }],
  );
  return [...own, ...(c.aliases ?? [])];
}

/** Points each identifier of `from` at `to`, if it still finds `from` (else: read again). */
export function identifierMoves(from: CustomerState, to: string): ExtraItem[] {
  return identifiersOf(from).map(({ kind, value }) => ({
    item: {
      Update: {
        TableName: tableName(),
        Key: keys.identifier(kind, value),
        UpdateExpression: 'SET customerId = :to',
        ConditionExpression: 'customerId = :from',
        ExpressionAttributeValues: { ':to': to, ':from': from.id },
      },
    },
    onFailure: 'stale',
  }));
}

/** Of `campaignIds`, those that counted `from` and not yet `to` (one consistent read). */
export async function campaignsToCarry(
  from: string,
  to: string,
  campaignIds: readonly string[],
): Promise<string[]> {
  const found = await lookUp({
    credited: campaignIds.flatMap((campaignId) => [
      { campaignId, customerId: from },
      { campaignId, customerId: to },
    ]),
  });
  return campaignIds.filter((id) => found.credited(id, from) && !found.credited(id, to));
}

/** The markers that make the campaigns count `customerId` as theirs already. */
export const campaignMarkers = (campaignIds: readonly string[], customerId: string, at: Date) =>
  campaignIds.map((campaignId) => campaignMarker(campaignId, customerId, at));

/** The markers a merge could not fit in its transaction, each written unless there. */
export async function carryMarkers(campaignIds: readonly string[], customerId: string, at: Date) {
  await Promise.all(
    campaignMarkers(campaignIds, customerId, at).map(({ item }) =>
      writeIf(new PutCommand(item.Put as ConstructorParameters<typeof PutCommand>[0])),
    ),
  );
}
