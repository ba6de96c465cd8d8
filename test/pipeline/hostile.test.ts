/**
 * Lines an end user can shape (their own metadata) against the pipeline: each such user is
 * skipped with a reason of its own, the run goes on, and the counts add up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MigratedIndexBuilder,
  isBatch,
  runPipeline,
  type PipelineOptions,
  type PipelineOutput,
  type Skipped,
} from '../../src/pipeline/index.js';
import { CONNECTION, collect, dbUser, gzip, ndjson, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** `{"a":{"a":…{}…}}`, `levels` objects deep, as JSON text (JSON.stringify cannot write it). */
function nestedJson(levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
}

/** An export line whose user_metadata nests `levels` deep, as text. */
function deepLine(id: string, email: string, levels: number, field = 'user_metadata'): string {
  const head = JSON.stringify(dbUser(id, email)).slice(0, -1);
  return `${head},"${field}":${nestedJson(levels)}}`;
}

const ok = (n: number) => dbUser(`ok${String(n).padStart(22, '0')}`, `ok${n}@example.com`);

function outcomes(out: PipelineOutput[]): Array<[number, string]> {
  const rows: Array<[number, string]> = [];
  for (const o of out) {
    if (isBatch(o)) for (const u of o.users) rows.push([u.source.line, 'import']);
    else rows.push([o.source.line, o.kind === 'skipped' ? o.reason : `already:${o.matchedBy}`]);
  }
  return rows.sort((a, b) => a[0] - b[0]);
}

const skips = (out: PipelineOutput[]) => out.filter((o): o is Skipped => !isBatch(o) && o.kind === 'skipped');

async function runOn(input: string, options: Partial<PipelineOptions> = {}) {
  const run = runPipeline({ input, connection: CONNECTION, ...options });
  const out = await collect(run);
  return { run, out };
}

describe('a user nested too deep', () => {
  it('is skipped as too_deep with its line, id and email; the users around it are imported', async () => {
    const text = [
      JSON.stringify(ok(1)),
      deepLine('deep00000000000000000001', 'Deep@Example.com', 5_000),
      JSON.stringify(ok(2)),
    ].join('\n');
    for (const input of [
      tmp.file('deep.ndjson', `${text}\n`),
      tmp.file('deep.ndjson.gz', gzip(`${text}\n`)),
    ]) {
      const { run, out } = await runOn(input);
      expect(outcomes(out)).toEqual([
        [1, 'import'],
        [2, 'too_deep'],
        [3, 'import'],
      ]);
      const [skip] = skips(out);
      expect(skip!.source).toEqual({
        line: 2,
        userId: 'auth0|deep00000000000000000001',
        email: 'deep@example.com',
      });
      expect(skip!.detail).toMatch(/more than 100 levels/);
      // Nothing of the record travels on: it could not be written anywhere.
      expect(skip!.original).toBeUndefined();
      expect(run.check()).toEqual([]);
      expect(run.counts).toMatchObject({ total: 3, imported: 2, skipped: 1, skippedBy: { too_deep: 1 } });
    }
  });

  it('is skipped whatever field nests (a field the import drops still reaches the retry file)', async () => {
    const input = tmp.file(
      'deep-other.ndjson',
      [
        deepLine('deep00000000000000000002', 'a@example.com', 200, 'app_metadata'),
        deepLine('deep00000000000000000003', 'b@example.com', 200, 'some_extension_field'),
        deepLine('deep00000000000000000004', 'c@example.com', 100),
      ].join('\n'),
    );
    const { run, out } = await runOn(input);
    // 100 levels, counting the record itself, is the most a record may have.
    expect(outcomes(out)).toEqual([
      [1, 'too_deep'],
      [2, 'too_deep'],
      [3, 'too_deep'],
    ]);
    const fits = tmp.file('fits.ndjson', deepLine('deep00000000000000000005', 'd@example.com', 99));
    expect(outcomes((await runOn(fits)).out)).toEqual([[1, 'import']]);
    expect(run.check()).toEqual([]);
  });

  it('is skipped in a JSON array export too', async () => {
    const input = tmp.file(
      'deep.json',
      `[${JSON.stringify(ok(1))},${deepLine('deep00000000000000000006', 'e@example.com', 5_000)},${JSON.stringify(ok(2))}]`,
    );
    const { run, out } = await runOn(input);
    expect(outcomes(out)).toEqual([
      [1, 'import'],
      [2, 'too_deep'],
      [3, 'import'],
    ]);
    expect(run.check()).toEqual([]);
  });

  it('counts as already migrated when the new tenant has it', async () => {
    const builder = new MigratedIndexBuilder();
    builder.add('auth0|deep00000000000000000007', undefined);
    const input = tmp.file(
      'deep-migrated.ndjson',
      deepLine('deep00000000000000000007', 'f@example.com', 5_000),
    );
    const { out } = await runOn(input, { migrated: builder.build() });
    expect(outcomes(out)).toEqual([[1, 'already:user_id']]);
  });
});

describe('metadata field names with "." or "$"', () => {
  it('are skipped as invalid_metadata_key, at any depth, naming where', async () => {
    const input = tmp.file(
      'keys.ndjson',
      ndjson([
        dbUser('key00000000000000000001', 'k1@example.com', { user_metadata: { 'pref.theme': 'dark' } }),
        dbUser('key00000000000000000002', 'k2@example.com', { app_metadata: { plan: { $set: 1 } } }),
        dbUser('key00000000000000000003', 'k3@example.com', { user_metadata: { list: [{ 'a.b': 1 }] } }),
        dbUser('key00000000000000000004', 'k4@example.com', {
          user_metadata: { 'a-b_c': { price: '$5.00' } },
        }),
      ]),
    );
    const { run, out } = await runOn(input);
    expect(outcomes(out)).toEqual([
      [1, 'invalid_metadata_key'],
      [2, 'invalid_metadata_key'],
      [3, 'invalid_metadata_key'],
      [4, 'import'],
    ]);
    expect(skips(out).map((s) => s.detail.split(':')[0])).toEqual([
      '/user_metadata/pref.theme',
      '/app_metadata/plan/$set',
      '/user_metadata/list/0/a.b',
    ]);
    expect(skips(out)[0]!.source).toMatchObject({ line: 1, email: 'k1@example.com' });
    expect(run.check()).toEqual([]);
  });
});

describe('profiles over the size Auth0 accepts', () => {
  it('are skipped as profile_too_large; the limit is 102400 bytes unless set', async () => {
    const sized = (id: string, bytes: number) => {
      const u = dbUser(id, `${id.slice(-4)}@example.com`, { user_metadata: { blob: '' } });
      const user = { email: u.email, email_verified: true, user_id: id, user_metadata: { blob: '' } };
      (u.user_metadata as { blob: string }).blob = 'x'.repeat(bytes - JSON.stringify(user).length);
      return u;
    };
    const input = tmp.file(
      'sizes.ndjson',
      ndjson([
        sized('size00000000000000000001', 102_400),
        sized('size00000000000000000002', 102_401),
        sized('size00000000000000000003', 20_000),
      ]),
    );
    const { run, out } = await runOn(input);
    expect(outcomes(out)).toEqual([
      [1, 'import'],
      [2, 'profile_too_large'],
      [3, 'import'],
    ]);
    expect(skips(out)[0]!.detail).toMatch(/102401 bytes.*102400/);
    expect(run.check()).toEqual([]);

    const strict = await runOn(input, { maxProfileBytes: 10_240 });
    expect(outcomes(strict.out).map(([, o]) => o)).toEqual([
      'profile_too_large',
      'profile_too_large',
      'profile_too_large',
    ]);
  });
});
