import { describe, expect, it } from 'vitest';
import { takeIds } from '../../lib/store/lapsed.ts';

/** The ids of a programme of `size` customers, in pages of `per` (made as they are read). */
async function* programme(size: number, per: number, read: { pages: number }) {
  for (let start = 0; start < size; start += per) {
    read.pages += 1;
    yield Array.from({ length: Math.min(per, size - start) }, (_, i) => `cus_${start + i}`);
  }
}

describe("the model's sample", () => {
  it('is at most its cap at 10 million customers, and reads no page past the one that fills it', async () => {
    const read = { pages: 0 };
    const ids = await takeIds(programme(10_000_000, 1_000, read), 20_000);
    expect(ids).toHaveLength(20_000);
    expect(ids.at(-1)).toBe('cus_19999');
    expect(read.pages).toBe(20);
  });

  it('cuts a page part-way, and takes everyone from a programme smaller than the cap', async () => {
    const cut = await takeIds(programme(10_000_000, 3_000, { pages: 0 }), 20_000);
    expect(cut).toHaveLength(20_000);
    const small = await takeIds(programme(1_234, 100, { pages: 0 }), 20_000);
    expect(small).toHaveLength(1_234);
  });
});
