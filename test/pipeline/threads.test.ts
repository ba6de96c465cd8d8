import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildMigratedIndex,
  isBatch,
  PipelineInputError,
  runPipeline,
  ThreadCandidate,
  type MigratedIndex,
  type PipelineOptions,
  type PipelineOutput,
} from '../../src/pipeline/index.js';
import { PIECE_BYTES, threadCount } from '../../src/pipeline/threads.js';
import { CONNECTION, FIXTURES, collect, dbUser, gzip, ndjson, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** Everything a consumer can see of the outputs, as plain data (getters read). */
function plain(out: PipelineOutput[]): unknown[] {
  return out.map((o) => {
    if (isBatch(o)) {
      return {
        kind: o.kind,
        index: o.index,
        payload: o.payload.toString('utf8'),
        users: o.users.map((u) => ({
          kind: u.kind,
          source: { ...u.source },
          user: u.user,
          original: u.original,
          hasPassword: u.hasPassword,
          notes: u.notes,
        })),
      };
    }
    if (o.kind === 'skipped') {
      return {
        kind: o.kind,
        source: { ...o.source },
        reason: o.reason,
        detail: o.detail,
        original: o.original,
      };
    }
    return { ...o, source: { ...o.source } };
  });
}

interface Outcome {
  out: unknown[];
  counts: unknown;
  read: unknown;
  error?: string;
}

async function outcome(options: PipelineOptions): Promise<Outcome> {
  const run = runPipeline(options);
  const out: PipelineOutput[] = [];
  let error: string | undefined;
  try {
    for await (const o of run) out.push(o);
  } catch (err) {
    error = err instanceof PipelineInputError ? `${err.code}: ${err.message}` : String(err);
  }
  return {
    out: plain(out),
    counts: structuredClone(run.counts),
    read: { ...run.read },
    ...(error !== undefined && { error }),
  };
}

/** The same run on this thread and on worker threads must give the same outputs, figures and errors. */
async function expectSameOnThreads(
  options: Omit<PipelineOptions, 'threads'>,
  threads = 2,
  { readFigures = true } = {},
): Promise<Outcome> {
  const one = await outcome({ ...options, threads: 0 });
  const many = await outcome({ ...options, threads });
  if (!readFigures) {
    // How far the reader got when a later stage stopped the run depends on how it reads ahead.
    delete (one as Partial<Outcome>).read;
    delete (many as Partial<Outcome>).read;
  }
  expect(many).toEqual(one);
  return many;
}

/** A mixed export: database users, social users, malformed and blank lines, CRLF, secrets, duplicates. */
function mixedExport(users: number): string {
  const lines: string[] = [];
  for (let i = 0; i < users; i++) {
    const id = i.toString(16).padStart(24, '0');
    const r = i % 13;
    if (r === 0) lines.push(JSON.stringify({ user_id: `google-oauth2|${i}`, email: `g${i}@example.com` }));
    else if (r === 1) lines.push(`{"user_id":"auth0|${id}", broken`);
    else if (r === 2) lines.push('');
    else if (r === 3) lines.push(JSON.stringify(dbUser(id, `crlf${i}@example.com`)) + '\r');
    else if (r === 4)
      lines.push(JSON.stringify(dbUser(id, `secret${i}@example.com`, { password_hash: '$2b$10$secret' })));
    else if (r === 5) lines.push(JSON.stringify(dbUser(`dup${i % 3}`, `dup${i % 3}@example.com`)));
    else if (r === 6)
      lines.push(JSON.stringify(dbUser(id, `Nick.${i}@Example.com`, { nickname: 42, name: 'Jürgen' })));
    else if (r === 7)
      lines.push(JSON.stringify(dbUser(id, `meta${i}@example.com`, { app_metadata: { plan: 'x', _id: 1 } })));
    else if (r === 8) lines.push(JSON.stringify(dbUser(id, '')));
    else if (r === 9) lines.push(JSON.stringify(dbUser(id, `migrated${i}@example.com`)));
    else if (r === 10) lines.push('42');
    else
      lines.push(JSON.stringify(dbUser(id, `user${i}@example.com`, { name: `Zoë ${i}`, given_name: 'Zoë' })));
  }
  return lines.join('\n') + '\n';
}

async function migratedFor(users: number): Promise<MigratedIndex> {
  const rows: unknown[] = [];
  for (let i = 0; i < users; i++) if (i % 13 === 9) rows.push(dbUser(`new${i}`, `migrated${i}@example.com`));
  rows.push(dbUser((11).toString(16).padStart(24, '0'), 'elsewhere@example.com'));
  return buildMigratedIndex(tmp.file('new.ndjson', ndjson(rows)), { connection: CONNECTION });
}

describe('the pipeline on worker threads', () => {
  it('gives exactly the outputs, counts and read figures of the one-thread run on the fixtures', async () => {
    const migrated = await buildMigratedIndex(`${FIXTURES}export-new-tenant.ndjson`, {
      connection: CONNECTION,
    });
    for (const file of ['export-full.ndjson', 'export-users.ndjson', 'export-extension-labels.ndjson']) {
      const got = await expectSameOnThreads({
        input: `${FIXTURES}${file}`,
        connection: CONNECTION,
        migrated,
      });
      expect(got.out.length).toBeGreaterThan(0);
    }
  });

  it('skips the same hostile users as the one-thread run: nested too deep (with a password field), bad metadata keys, oversized profiles', async () => {
    const deep = `${'{"a":'.repeat(4_999)}{}${'}'.repeat(4_999)}`;
    const head = JSON.stringify(
      dbUser('deep00000000000000000001', 'deep@example.com', { password_hash: 'x' }),
    );
    const lines = [
      JSON.stringify(dbUser('ok0000000000000000000001', 'ok1@example.com')),
      `${head.slice(0, -1)},"user_metadata":${deep}}`,
      JSON.stringify(dbUser('key00000000000000000001', 'key@example.com', { user_metadata: { 'a.b': 1 } })),
      JSON.stringify(
        dbUser('big00000000000000000001', 'big@example.com', { user_metadata: { b: 'x'.repeat(200_000) } }),
      ),
      JSON.stringify(dbUser('ok0000000000000000000002', 'ok2@example.com')),
    ];
    const got = await expectSameOnThreads({
      input: tmp.file('hostile.ndjson', `${lines.join('\n')}\n`),
      connection: CONNECTION,
    });
    expect(got.counts).toMatchObject({
      total: 5,
      imported: 2,
      skippedBy: { too_deep: 1, invalid_metadata_key: 1, profile_too_large: 1 },
    });
  });

  it('gives the same batches, byte for byte, over many pieces of a large gzip export, with any number of threads', async () => {
    const users = 9000;
    const text = mixedExport(users);
    expect(text.length).toBeGreaterThan(3 * PIECE_BYTES);
    const input = tmp.file('old.ndjson.gz', gzip(`\uFEFF\n\n${text}`));
    const migrated = await migratedFor(users);
    const one = await outcome({ input, connection: CONNECTION, migrated, threads: 0, batchBytes: 20_000 });
    for (const threads of [1, 3]) {
      const many = await outcome({ input, connection: CONNECTION, migrated, threads, batchBytes: 20_000 });
      expect(many).toEqual(one);
    }
    const counts = one.counts as {
      total: number;
      skippedBy: Record<string, number>;
      alreadyMigrated: number;
    };
    expect(counts.total).toBeGreaterThan(8000);
    expect(counts.skippedBy).toMatchObject({
      malformed_line: expect.any(Number),
      not_database_user: expect.any(Number),
      duplicate_in_export: expect.any(Number),
      schema_invalid: expect.any(Number),
      no_email: expect.any(Number),
    });
    expect(counts.alreadyMigrated).toBeGreaterThan(600);
    // Blank lines and the BOM's leading lines count: line numbers are the file's.
    const first = one.out[0] as { source?: { line: number }; users?: Array<{ source: { line: number } }> };
    expect(first.source?.line ?? first.users?.[0]?.source.line).toBe(3);
  });

  it('hands out users whose fields are parsed from the threads bytes only when read', async () => {
    const input = tmp.file('old.ndjson', mixedExport(200));
    const out = await collect(runPipeline({ input, connection: CONNECTION, threads: 1 }));
    const users = out.filter(isBatch).flatMap((b) => b.users);
    expect(users.length).toBeGreaterThan(50);
    expect(users.every((u) => u instanceof ThreadCandidate)).toBe(true);
    const secret = users.find((u) => u.source.email?.startsWith('secret'))!;
    // The password field of the input never reaches the original kept for retry files.
    expect(secret.original).not.toHaveProperty('password_hash');
    expect(JSON.stringify(secret.user)).not.toContain('secret"');
  });

  it('fails the same way when a line is longer than the limit, the input is not JSON or its fields map to nothing', async () => {
    const long = `{"user_id":"auth0|x","email":"long@example.com","pad":"${'x'.repeat(16 * 1024 * 1024)}"}`;
    await expectSameOnThreads({
      input: tmp.file(
        'long.ndjson',
        `${JSON.stringify(dbUser('a'.repeat(24), 'a@example.com'))}\n${long}\n${JSON.stringify(dbUser('b'.repeat(24), 'b@example.com'))}\n`,
      ),
      connection: CONNECTION,
    });
    const notJson = await expectSameOnThreads({
      input: tmp.file('not.ndjson', Array.from({ length: 30 }, (_, i) => `{oops ${i}`).join('\n')),
      connection: CONNECTION,
    });
    expect(notJson.error).toMatch(/^not_json/);
    const unmapped = await expectSameOnThreads(
      {
        input: tmp.file(
          'unmapped.ndjson',
          ndjson(Array.from({ length: 12 }, (_, i) => ({ uid: i, mail: `${i}@x.io` }))),
        ),
        connection: CONNECTION,
      },
      2,
      { readFigures: false },
    );
    expect(unmapped.error).toMatch(/^unmapped_fields.*keys found: uid, mail/);
  });

  it('yields what it read before a gzip that breaks off, then the same error', async () => {
    const whole = gzip(mixedExport(6000));
    const input = tmp.file('cut.ndjson.gz', whole.subarray(0, Math.floor(whole.length * 0.7)));
    const got = await expectSameOnThreads({ input, connection: CONNECTION, batchBytes: 30_000 });
    expect(got.error).toMatch(/^truncated_gzip/);
    expect(got.out.length).toBeGreaterThan(100);
  });

  it('stops its threads when the consumer stops early', async () => {
    const input = tmp.file('many.ndjson', mixedExport(6000));
    const run = runPipeline({ input, connection: CONNECTION, threads: 2, batchBytes: 5_000 });
    let seen = 0;
    for await (const o of run) if (isBatch(o) && ++seen === 2) break;
    expect(seen).toBe(2);
    // A second run afterwards works: nothing of the first is left waiting.
    const again = await collect(runPipeline({ input, connection: CONNECTION, threads: 2 }));
    expect(again.filter(isBatch).length).toBeGreaterThan(0);
  });

  it('stops its threads while the consumer pauses, and starts them again for the rest, with the same outputs', async () => {
    // Large enough that most of it is read after the pause (the pipeline reads 6 pieces ahead).
    const input = tmp.file('paused.ndjson', mixedExport(40_000));
    const one = await outcome({ input, connection: CONNECTION, threads: 0, batchBytes: 20_000 });
    const run = runPipeline({
      input,
      connection: CONNECTION,
      threads: 1,
      threadIdleMs: 30,
      batchBytes: 20_000,
    });
    const out: PipelineOutput[] = [];
    let paused = false;
    for await (const o of run) {
      out.push(o);
      if (!paused && isBatch(o)) {
        // Like the plan stage waiting for room in Redis: nothing is asked for a while.
        paused = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    expect(run.threadStarts).toBeGreaterThanOrEqual(2);
    expect({ out: plain(out), counts: structuredClone(run.counts), read: { ...run.read } }).toEqual(one);
  });

  it('property: any mix of lines gives the one-thread outputs', async () => {
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
    const record = fc.record(
      {
        user_id: fc.oneof(fc.constantFrom('auth0|a1', 'auth0|dup', 'google-oauth2|1', 'auth0|'), value),
        email: fc.oneof(
          fc.constantFrom('a@example.com', 'A@Example.com', 'x@y', ''),
          fc.emailAddress(),
          value,
        ),
        name: value,
        app_metadata: fc.oneof(fc.dictionary(fc.constantFrom('plan', 'blocked', '_id'), value), value),
        identities: fc.oneof(
          fc.constant([{ connection: CONNECTION, user_id: 'a1' }]),
          fc.constant([]),
          value,
        ),
        password_hash: fc.option(fc.constant('$2b$10$x'), { nil: undefined }),
      },
      { requiredKeys: [] },
    );
    const line = fc.oneof(
      { weight: 9, arbitrary: record.map((r) => JSON.stringify(r)) },
      { weight: 1, arbitrary: fc.constantFrom('{broken', '[]', '', ' ', '\r') },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), async (lines) => {
        const input = tmp.file(`p${n++}.ndjson`, lines.join('\n'));
        await expectSameOnThreads({ input, connection: CONNECTION, batchBytes: 400 }, 2);
      }),
      { numRuns: 15 },
    );
  });
});

describe('threadCount', () => {
  it('uses threads only for NDJSON files without password hashes, as asked or by size', async () => {
    const small = tmp.file('small.ndjson', '{}\n');
    expect(await threadCount({ input: small }, 'ndjson')).toBe(0);
    expect(await threadCount({ input: small, threads: 3 }, 'ndjson')).toBe(3);
    expect(await threadCount({ input: small, threads: 3 }, 'json-array')).toBe(0);
    expect(await threadCount({ input: small, threads: 3, hashes: {} }, 'ndjson')).toBe(0);
  });
});
