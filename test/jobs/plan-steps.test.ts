import { describe, expect, it } from 'vitest';
import { planSteps, toStaged, writeSteps, type PlanItem, type PlanStep } from '../../src/jobs/plan.js';
import type { Skipped } from '../../src/pipeline/types.js';

const skipped = (line: number): Skipped => ({
  kind: 'skipped',
  source: { line, email: `u${line}@example.com` },
  reason: 'not_database_user',
  detail: 'google-oauth2',
});

const batch = (index: number, lines: number[]): PlanItem => ({
  kind: 'batch',
  index,
  payload: Buffer.from('[]'),
  users: lines.map((line) => ({
    kind: 'import',
    source: { line },
    user: { email: `u${line}@example.com` },
    original: { email: `u${line}@example.com` },
    hasPassword: false,
  })),
});

async function* slowly(items: PlanItem[], log: string[]): AsyncGenerator<PlanItem> {
  for (const item of items) {
    log.push(`read ${'index' in item ? `batch ${item.index}` : `line ${item.source.line}`}`);
    await new Promise((resolve) => setImmediate(resolve));
    yield item;
  }
}

const describeStep = (s: PlanStep): string =>
  s.kind === 'batch' ? `batch ${s.n} (read ${s.read})` : `chunk ${s.chunk.index} (read ${s.read})`;

describe('planSteps', () => {
  it('numbers the batches and gathers the users between them into chunks, with the records read so far', async () => {
    const items = [skipped(1), batch(0, [2, 3]), skipped(4), skipped(5), batch(1, [6]), skipped(7)];
    const steps: string[] = [];
    for await (const s of planSteps(slowly(items, []))) steps.push(describeStep(s));
    expect(steps).toEqual([
      'chunk 0 (read 1)',
      'batch 0 (read 3)',
      'chunk 1 (read 5)',
      'batch 1 (read 6)',
      'chunk 2 (read 7)',
    ]);
  });
});

describe('the lines staged', () => {
  it('name each user with the fields the report and the import-batch job read, in a fixed order', async () => {
    const items: PlanItem[] = [
      {
        kind: 'already_migrated',
        source: { line: 1, userId: 'auth0|a', email: 'a@example.com' },
        matchedBy: 'user_id',
      },
      skipped(2),
    ];
    const chunks: string[] = [];
    for await (const s of planSteps(slowly(items, [])))
      if (s.kind === 'chunk') chunks.push(JSON.stringify(s.chunk));
    expect(chunks).toHaveLength(1);
    const chunk = JSON.parse(chunks[0]!) as { alreadyMigrated: unknown[]; skipped: unknown[] };
    expect(JSON.stringify(chunk.alreadyMigrated)).toBe(
      '[{"user_id":"auth0|a","email":"a@example.com","line":1,"matched_by":"user_id","found_by":"snapshot"}]',
    );
    expect(JSON.stringify(chunk.skipped)).toBe(
      '[{"email":"u2@example.com","line":2,"reason":"not_database_user","detail":"google-oauth2"}]',
    );

    const staged = toStaged({
      kind: 'batch',
      index: 0,
      payload: Buffer.from('[]'),
      users: [
        {
          kind: 'import',
          source: { line: 3, userId: 'auth0|c' },
          user: {
            email: 'c@example.com',
            user_id: 'c',
            email_verified: false,
            username: 'cee',
            phone_number: '+15550100',
          },
          original: { user_id: 'auth0|c' },
          hasPassword: true,
        },
        {
          kind: 'import',
          source: { line: 4 },
          user: { email: 'd@example.com' },
          original: {},
          hasPassword: false,
        },
      ],
    });
    expect(JSON.stringify(staged.users)).toBe(
      '[{"line":3,"userId":"auth0|c","email":"c@example.com","sentId":"c","hasPassword":true,"emailUnverified":true,' +
        '"username":"cee","phone":"+15550100","original":{"user_id":"auth0|c"}},' +
        '{"line":4,"email":"d@example.com","hasPassword":false,"original":{}}]',
    );
  });
});

describe('writeSteps', () => {
  it('writes in order, one at a time, while the next step is read', async () => {
    const log: string[] = [];
    let writing = 0;
    const items = [batch(0, [1]), batch(1, [2]), batch(2, [3])];
    await writeSteps(planSteps(slowly(items, log)), async (s) => {
      writing++;
      expect(writing).toBe(1);
      log.push(`write ${describeStep(s)}`);
      // Long enough for the next step to be read meanwhile.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      log.push(`wrote ${describeStep(s)}`);
      writing--;
    });
    expect(log.filter((l) => l.startsWith('wrote'))).toEqual([
      'wrote batch 0 (read 1)',
      'wrote batch 1 (read 2)',
      'wrote batch 2 (read 3)',
    ]);
    // Batch 1 was read while batch 0 was being written.
    expect(log.indexOf('read batch 1')).toBeLessThan(log.indexOf('wrote batch 0 (read 1)'));
  });

  it("fails with a write's error, and writes nothing after it", async () => {
    const written: number[] = [];
    const items = [batch(0, [1]), batch(1, [2]), batch(2, [3]), batch(3, [4])];
    await expect(
      writeSteps(planSteps(slowly(items, [])), async (s) => {
        if (s.kind !== 'batch') return;
        if (s.n === 1) throw new Error('Redis said no');
        written.push(s.n);
      }),
    ).rejects.toThrow('Redis said no');
    expect(written).toEqual([0]);
  });

  it('lets the write under way end before a failing input ends the stage', async () => {
    let ended = false;
    async function* failing(): AsyncGenerator<PlanItem> {
      yield batch(0, [1]);
      throw new Error('input cut short');
    }
    await expect(
      writeSteps(planSteps(failing()), async () => {
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
        ended = true;
      }),
    ).rejects.toThrow('input cut short');
    expect(ended).toBe(true);
  });
});
