import { describe, expect, it } from 'vitest';
import { hashString, StringTable } from '../src/string-table.ts';

describe('StringTable', () => {
  it('finds every key it was given as it grows, and nothing else', () => {
    const t = new StringTable<number>();
    const keys = Array.from({ length: 3000 }, (_, i) => `/api/r${i}/items`);
    keys.forEach((k, i) => {
      t.set(k, i);
      // Every key set so far is still there after each growth.
      if ((i & (i - 1)) === 0) expect(keys.slice(0, i + 1).every((k2, j) => t.get(k2) === j)).toBe(true);
    });
    expect(keys.every((k, i) => t.get(k) === i)).toBe(true);
    expect(t.get('/api/r3000/items')).toBeUndefined();
    expect(t.get('')).toBeUndefined();
    t.set('/api/r7/items', -7);
    expect(t.get('/api/r7/items')).toBe(-7);
  });

  it('looks up a range of a longer string by its hash, folding ASCII case when asked', () => {
    const t = new StringTable<string>();
    t.set('reviews.default', 'svc');
    const host = 'Reviews.Default:9080';
    const lower = hashString('reviews.default');
    expect(t.getRange('/reviews.default/x', 1, 16, lower)).toBe('svc');
    expect(t.getRangeLower(host, 0, 15, lower)).toBe('svc');
    expect(t.getRange(host, 0, 15, lower)).toBeUndefined();
    expect(t.getRangeLower(host, 0, 14, hashString('reviews.defaul'))).toBeUndefined();
  });
});
