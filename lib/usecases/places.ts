import { newId } from '../ids.ts';
import { insertPlace, listPlaces, type Place, type PlaceKind } from '../store/catalog.ts';

export async function createPlace(kind: PlaceKind, name: string, now = new Date()): Promise<Place> {
  const place = {
    id: newId(kind === 'store' ? 'sto' : 'ptn', now.getTime()),
    name,
    createdAt: now.toISOString(),
  };
  await insertPlace(kind, place);
  return place;
}

export { listPlaces };
