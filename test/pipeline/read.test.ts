import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PipelineInputError } from '../../src/pipeline/errors.js';
import { createReadState, inspectExport, readExport, type ReadItem } from '../../src/pipeline/read.js';
import { chunked, collect, gzip, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const records = (items: ReadItem[]) => items.filter((i) => i.kind === 'record').map((i) => i.record);

async function failure(promise: Promise<unknown>): Promise<PipelineInputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PipelineInputError);
  return err as PipelineInputError;
}

describe('readExport', () => {
  it('reads NDJSON with a BOM, CRLF line ends and blank lines, numbering lines as in the file', async () => {
    const text = '\uFEFF\r\n{"user_id":"a"}\r\n\r\n   \n{"user_id":"b"}\r\n{"user_id":"c"}';
    const items = await collect(readExport(tmp.file('users.ndjson', text)));
    expect(items).toEqual([
      { kind: 'record', source: { line: 2 }, record: { user_id: 'a' } },
      { kind: 'record', source: { line: 5 }, record: { user_id: 'b' } },
      { kind: 'record', source: { line: 6 }, record: { user_id: 'c' } },
    ]);
  });

  it('reports a malformed line with its number and the parser reason, and reads on', async () => {
    const state = createReadState();
    const text = '{"user_id":"a"}\n{"user_id": "b",\n[1,2]\n{"user_id":"c"}\n';
    const items = await collect(readExport(tmp.file('users.ndjson', text), { state }));
    expect(records(items)).toEqual([{ user_id: 'a' }, { user_id: 'c' }]);
    const bad = items.filter((i) => i.kind === 'skipped');
    expect(bad.map((b) => [b.source.line, b.reason])).toEqual([
      [2, 'malformed_line'],
      [3, 'malformed_line'],
    ]);
    expect(bad[0]!.detail).toMatch(/^line 2: .*JSON/);
    expect(bad[1]!.detail).toBe('line 3: not a JSON object (found an array)');
    expect(state).toMatchObject({ lines: 4, records: 2, malformed: 2, format: 'ndjson', gzip: false });
  });

  it('recognises gzip by its magic bytes whatever the file is called, and plain text named .gz', async () => {
    const text = '{"user_id":"a"}\n{"user_id":"b"}\n';
    const gz = await collect(readExport(tmp.file('users.json', gzip(text))));
    const plain = await collect(readExport(tmp.file('users.ndjson.gz', text)));
    expect(records(gz)).toEqual([{ user_id: 'a' }, { user_id: 'b' }]);
    expect(records(plain)).toEqual(records(gz));
  });

  it('reads a JSON array (gzipped or not) element by element, numbering elements from 1', async () => {
    const text = '\uFEFF  [\r\n {"email":"a@example.com"},\n 7,\n {"email":"b@example.com"}\n]\n';
    for (const content of [text, gzip(text)]) {
      const state = createReadState();
      const items = await collect(readExport(tmp.file('users.json', content), { state }));
      expect(items).toEqual([
        { kind: 'record', source: { line: 1 }, record: { email: 'a@example.com' } },
        {
          kind: 'skipped',
          source: { line: 2 },
          reason: 'malformed_line',
          detail: 'line 2: array element 2 is not a JSON object (found a number)',
        },
        { kind: 'record', source: { line: 3 }, record: { email: 'b@example.com' } },
      ]);
      expect(state.format).toBe('json-array');
    }
  });

  it('ends a truncated gzip with an error naming the file and how far it got', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({ user_id: `auth0|${i}`, email: `u${i}@example.com` }),
    );
    const full = gzip(lines.join('\n'));
    const path = tmp.file('export.ndjson.gz', full.subarray(0, Math.floor(full.length * 0.6)));
    const seen: ReadItem[] = [];
    const err = await failure(
      (async () => {
        for await (const item of readExport(path)) seen.push(item);
      })(),
    );
    expect(err.name).toBe('InputError');
    expect(err.code).toBe('truncated_gzip');
    expect(err.file).toBe(path);
    expect(err.message).toContain('truncated');
    expect(err.message).toMatch(
      /read [\d,]+ compressed bytes \([\d,]+ bytes of text\), [\d,]+ lines, [\d,]+ records/,
    );
    expect(err.progress!.records).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(0);
    expect(err.hint).toMatch(/again/);
  });

  it('refuses a file that is not JSON, naming it and its first character', async () => {
    const path = tmp.file('users.csv', 'user_id,email\nauth0|1,a@example.com\n');
    const err = await failure(collect(readExport(path)));
    expect(err.code).toBe('not_json');
    expect(err.message).toContain(path);
    expect(err.message).toContain("starts with 'u'");
  });

  it('releases a stream it refuses', async () => {
    for (const bytes of [Buffer.from('id,email\n1,a@example.com\n'), gzip('id,email\n')]) {
      const stream = chunked(bytes, [4, 4]);
      const err = await failure(collect(readExport(stream)));
      expect(err.code).toBe('not_json');
      expect(stream.destroyed).toBe(true);
    }
  });

  it('refuses a gzip of something else than JSON', async () => {
    const err = await failure(collect(readExport(tmp.file('x.gz', gzip('PK\u0003\u0004 binary')))));
    expect(err.code).toBe('not_json');
  });

  it('refuses a file whose lines all fail to parse, without yielding them', async () => {
    const few = await failure(collect(readExport(tmp.file('few.ndjson', '{oops\n{nope\n'))));
    expect(few.code).toBe('not_json');
    expect(few.message).toContain('line 1');
    const many = Array.from({ length: 100 }, (_, i) => `{bad ${i}`).join('\n');
    const seen: ReadItem[] = [];
    const err = await failure(
      (async () => {
        for await (const item of readExport(tmp.file('many.ndjson', many))) seen.push(item);
      })(),
    );
    expect(err.code).toBe('not_json');
    expect(err.progress!.lines).toBeLessThan(100);
    expect(seen).toEqual([]);
  });

  it('ends a broken JSON array with an error saying how many elements were read', async () => {
    const path = tmp.file('users.json', '[{"email":"a@example.com"},{"email":"b@example.com"},{"email":');
    const err = await failure(collect(readExport(path)));
    expect(err.code).toBe('bad_json_array');
    expect(err.message).toContain('after element 2');
    expect(err.message).toContain('2 records');
  });

  it('reads an empty file as no records', async () => {
    const state = createReadState();
    expect(await collect(readExport(tmp.file('empty.ndjson', ''), { state }))).toEqual([]);
    expect(await collect(readExport(tmp.file('blank.ndjson.gz', gzip('\n \r\n'))))).toEqual([]);
    expect(state.format).toBe('empty');
  });

  it('says which file is missing', async () => {
    const err = await failure(collect(readExport(`${tmp.dir}/nope.ndjson.gz`)));
    expect(err.code).toBe('read_failed');
    expect(err.message).toContain('nope.ndjson.gz');
  });

  it('skips an overlong line as malformed and reads on', async () => {
    const text = `{"user_id":"a"}\n{"user_id":"${'x'.repeat(5000)}"}\n{"user_id":"c"}\n`;
    const items = await collect(
      readExport(chunked(Buffer.from(text), [100, 100, 100]), { maxLineBytes: 1000 }),
    );
    expect(records(items)).toEqual([{ user_id: 'a' }, { user_id: 'c' }]);
    expect(items[1]).toMatchObject({ source: { line: 2 }, detail: 'line 2: line longer than 1000 bytes' });
  });

  it('leaves the input out of redacted parser messages', async () => {
    const text =
      '{"_id":"1","passwordHash":"$2b$10$abc"}\n{"_id":"2","passwordHash":"$2b$10$secretsecret" x}\n';
    const plain = await collect(readExport(tmp.file('p.ndjson', text)));
    const redacted = await collect(readExport(tmp.file('h.ndjson', text), { redactParserMessages: true }));
    const bad = redacted.find((i) => i.kind === 'skipped')!;
    expect(bad.detail).toMatch(/^line 2: not valid JSON at position \d+$/);
    expect(bad.detail).not.toContain('secret');
    // V8 does quote the line without redaction, which is why the option exists.
    expect(plain.find((i) => i.kind === 'skipped')!.detail).not.toEqual(bad.detail);
  });

  it('gives the same records however the bytes are cut into chunks (gzip or not)', async () => {
    const text =
      '\uFEFF{"user_id":"a","name":"Zoë"}\r\n\r\n{"user_id":"b"}\n{broken\n{"user_id":"c","name":"日本"}';
    const expected = await collect(readExport(tmp.file('ref.ndjson', text)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }),
        fc.boolean(),
        async (sizes, zipped) => {
          const bytes = zipped ? gzip(text) : Buffer.from(text, 'utf8');
          const got = await collect(readExport(chunked(bytes, sizes)));
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('inspectExport', () => {
  it('tells NDJSON, a JSON array and an empty input from the first bytes, gzip or not, in any chunks', async () => {
    const cases: Array<[string, string]> = [
      ['{"email":"a@example.com"}\n', 'ndjson'],
      ['\n\n{"email":"a@example.com"}', 'ndjson'],
      ['[{"email":"a@example.com"}]', 'json-array'],
      ['[ \n\t {"email":"a@example.com"}]', 'json-array'],
      ['[ \n ]', 'empty'],
      ['[', 'empty'],
      ['\ufeff  \n', 'empty'],
      ['', 'empty'],
    ];
    for (const [text, format] of cases) {
      const bytes = Buffer.from(text, 'utf8');
      expect(await inspectExport(chunked(bytes, [1, 1, 2]))).toEqual({ format, gzip: false });
      expect(await inspectExport(chunked(gzip(bytes), [3]))).toEqual({ format, gzip: true });
    }
  });

  it('refuses what is not an export, naming it', async () => {
    const csv = tmp.file('users.csv', 'email,name\n');
    await expect(inspectExport(csv)).rejects.toThrow(/users\.csv is not JSON: it starts with 'e'/);
    await expect(inspectExport(tmp.file('x.bin', Buffer.from([0, 1])))).rejects.toMatchObject({
      code: 'not_json',
    });
  });
});
