import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyList, KeyTable, ShardedKeySet, emailKey, idKey } from '../../src/pipeline/keys.js';

const key = (words: number[]) => Uint32Array.from(words);

describe('keys', () => {
  it('stores 24-hex-digit ids exactly and hashes everything else', () => {
    const k = new Uint32Array(3);
    idKey('6512a0c1f3b4d5e6a7b8c901', k);
    expect([...k]).toEqual([0x6512a0c1, 0xf3b4d5e6, 0xa7b8c901]);
    const other = new Uint32Array(3);
    idKey('6512A0C1F3B4D5E6A7B8C901', other);
    expect([...other]).not.toEqual([...k]);
    // The same text as an id and as an email gives different keys.
    idKey('a@example.com', k);
    emailKey('a@example.com', other);
    expect([...k]).not.toEqual([...other]);
  });

  it('KeyTable behaves as a set, including the all-zero key and across growth', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('add', 'has'),
            fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
          ),
          {
            maxLength: 300,
          },
        ),
        (ops) => {
          const table = new KeyTable({ capacity: 8 });
          const model = new Set<string>();
          for (const [op, words] of ops) {
            const k = key(words);
            const id = words.join(',');
            if (op === 'add') expect(table.add(k)).toBe(!model.has(id));
            else expect(table.has(k)).toBe(model.has(id));
            if (op === 'add') model.add(id);
          }
          expect(table.size).toBe(model.size);
        },
      ),
    );
  });

  it('ShardedKeySet behaves as a set across the growth of its shards', () => {
    const set = new ShardedKeySet(256);
    const k = new Uint32Array(3);
    for (let i = 0; i < 20_000; i++) {
      idKey(i.toString(16).padStart(24, '0'), k);
      expect(set.add(k)).toBe(true);
    }
    for (let i = 0; i < 20_000; i += 7) {
      idKey(i.toString(16).padStart(24, '0'), k);
      expect(set.has(k)).toBe(true);
      expect(set.add(k)).toBe(false);
      idKey((i + 20_000).toString(16).padStart(24, '0'), k);
      expect(set.has(k)).toBe(false);
    }
    expect(set.size).toBe(20_000);
    expect(set.bytes / set.size).toBeLessThan(30);
  });

  it('ShardedKeySet keeps its shards between 0.69 and 0.8 full once grown (at most 17.3 bytes per key)', () => {
    const set = new ShardedKeySet(256);
    const k = new Uint32Array(3);
    let worst = 0;
    for (let i = 1; i <= 300_000; i++) {
      emailKey(`user${i}@example.com`, k);
      set.add(k);
      if (i >= 100_000 && i % 1000 === 0) worst = Math.max(worst, set.bytes / set.size);
    }
    expect(worst).toBeGreaterThanOrEqual(15);
    expect(worst).toBeLessThanOrEqual(17.3 + 0.1);
  });

  it('keeps values and replaces them with set()', () => {
    const table = new KeyTable({ values: true, capacity: 8 });
    for (let i = 0; i < 100; i++) table.add(key([i, i * 7, 1]), 0, i);
    expect(table.get(key([42, 294, 1]))).toBe(42);
    expect(table.get(key([42, 294, 2]))).toBe(-1);
    table.set(key([42, 294, 1]), 0, 7);
    expect(table.get(key([42, 294, 1]))).toBe(7);
    table.set(key([0, 0, 0]), 0, 5);
    expect(table.get(key([0, 0, 0]))).toBe(5);
  });

  it('a table sized for its keys costs at most 16 bytes per key', () => {
    const list = new KeyList();
    const k = new Uint32Array(3);
    for (let i = 0; i < 50_000; i++) {
      emailKey(`user${i}@example.com`, k);
      list.add(k);
    }
    const table = KeyTable.sizedFor(list.count);
    list.drainInto(table);
    expect(table.size).toBe(50_000);
    expect(table.bytes / table.size).toBeLessThanOrEqual(16);
    emailKey('user49999@example.com', k);
    expect(table.has(k)).toBe(true);
    emailKey('user50000@example.com', k);
    expect(table.has(k)).toBe(false);
  });
});
