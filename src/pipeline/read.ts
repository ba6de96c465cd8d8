/**
 * Read stage: an export file (.ndjson, .ndjson.gz or a JSON array, recognised by content, not by
 * name) as records in input order. A malformed line becomes a `malformed_line` {@link Skipped} and
 * reading goes on; a file that cannot be read to its end (truncated gzip, not JSON, a broken
 * array) throws a {@link PipelineInputError} that names the file and says how far reading got.
 *
 * NDJSON lines are split on the raw bytes and handed to `JSON.parse` one by one: that is the
 * fastest way to parse them in V8, and it knows every line's number (stream-json's JSONL parser
 * drops blank lines uncounted and has no line numbers). JSON arrays go through stream-json's
 * tokenizer, so an array file is never held whole either.
 */
import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import StreamJson from 'stream-json';
import StreamArray from 'stream-json/streamers/StreamArray.js';
import { PipelineInputError, describeProgress, type PipelineErrorCode, type ReadProgress } from './errors.js';
import type { ExportRecord, RecordSource, Skipped } from './types.js';

/** A path, or the bytes of a file (a Node stream or any async iterable of byte chunks). */
export type ExportInput = string | AsyncIterable<Uint8Array>;

export interface ReadState extends ReadProgress {
  /** Set once the first bytes are seen. */
  gzip: boolean;
  /** Set once the first non-blank character is seen; `empty` for a file without any. */
  format: 'ndjson' | 'json-array' | 'empty' | undefined;
}

export interface ReadOptions {
  /** Name used in messages. @defaultValue the path, or `input` for a stream */
  name?: string;
  /**
   * Leave the parser's words about the input out of `malformed_line` details (V8 quotes a piece
   * of the line). Set for files holding secrets, such as password hashes.
   * @defaultValue false
   */
  redactParserMessages?: boolean;
  /** A longer line is reported as malformed and skipped, so one bad line cannot exhaust memory. @defaultValue 16 MiB */
  maxLineBytes?: number;
  /** Filled in while reading (progress bars, error messages, accounting). */
  state?: ReadState;
}

/** A parsed record and where it came from. */
export interface ReadRecord {
  kind: 'record';
  source: RecordSource;
  record: ExportRecord;
}

export type ReadItem = ReadRecord | Skipped;

const FILE_CHUNK = 256 * 1024;
export const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
/** Lines that fail to parse before any record does, after which the file is declared not JSON. */
const NOT_JSON_AFTER = 20;
const ARRAY_CHUNK = 512;

export function createReadState(): ReadState {
  return { fileBytes: 0, bytes: 0, lines: 0, records: 0, malformed: 0, gzip: false, format: undefined };
}

/** Records one by one. See {@link readExportChunks} for the faster form the composed pipeline uses. */
export async function* readExport(input: ExportInput, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  for await (const chunk of readExportChunks(input, options)) yield* chunk;
}

/**
 * Records in arrays of a few hundred (one array per chunk of input), in input order. Pull-based:
 * nothing more is read until the consumer asks for the next array.
 */
export async function* readExportChunks(
  input: ExportInput,
  options: ReadOptions = {},
): AsyncGenerator<ReadItem[]> {
  yield* readOpened(await openExport(input, options), options);
}

/** {@link readExportChunks} of an export {@link openExport} opened. */
export async function* readOpened(
  opened: OpenedExport,
  options: ReadOptions = {},
): AsyncGenerator<ReadItem[]> {
  if (opened.format === 'json-array') yield* readArray(opened.text, opened.state, options, opened.fail);
  else if (opened.format === 'ndjson')
    yield* readLines(opened.text, opened.leadingLines, opened.state, options, opened.fail);
}

/** An export opened up to its first character: its format and its text from there on. */
export interface OpenedExport {
  name: string;
  state: ReadState;
  format: 'ndjson' | 'json-array' | 'empty';
  /** The text from the first non-blank character on (empty for `empty`). */
  text: AsyncIterable<Buffer>;
  /** Line breaks before that character, so line numbers match the file. */
  leadingLines: number;
  /** Makes the error for an input that cannot be read through, with how far reading got. */
  fail: Fail;
}

/**
 * Opens an export: gunzips it when the bytes say gzip, skips a BOM and leading blanks, and tells
 * NDJSON from a JSON array by the first character. Throws `not_json` for anything else.
 */
export async function openExport(input: ExportInput, options: ReadOptions = {}): Promise<OpenedExport> {
  const name = options.name ?? (typeof input === 'string' ? input : 'input');
  const state = options.state ?? createReadState();
  const fail: Fail = (code, message, hint, cause) =>
    new PipelineInputError(code, name, `${message} (read ${describeProgress(state, state.gzip)})`, {
      progress: { ...state },
      ...(hint !== undefined && { hint }),
      cause,
      reason: message,
    });

  const raw = rawBytes(input, name, state);
  const head = await peek(raw, 2);
  state.gzip = head.bytes.length >= 2 && head.bytes[0] === 0x1f && head.bytes[1] === 0x8b;
  let text: AsyncIterable<Buffer> = head.rest;
  if (state.gzip) {
    const gunzip = createGunzip({ chunkSize: 128 * 1024 });
    pipeline(Readable.from(head.rest, { objectMode: false }), gunzip, () => {});
    text = guardGunzip(gunzip, fail);
  }

  const start = await peekText(text);
  if (start.first === undefined) {
    state.format = 'empty';
    return { name, state, format: 'empty', text: empty(), leadingLines: 0, fail };
  }
  const c = start.first.char;
  state.bytes += start.first.offset;
  if (c !== 0x7b && c !== 0x5b) {
    await start.close();
    const shown =
      c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    throw fail(
      'not_json',
      `${name} is not JSON: it starts with ${shown} at byte ${start.first.offset} of its text, where an export has '{' (NDJSON) or '[' (a JSON array)`,
      'Pass the users-export file itself (.ndjson, .ndjson.gz) or a JSON array of users.',
    );
  }
  state.format = c === 0x5b ? 'json-array' : 'ndjson';
  return { name, state, format: state.format, text: start.rest, leadingLines: start.first.newlines, fail };
}

/** What {@link inspectExport} finds at the start of an input. */
export interface ExportKind {
  /** `empty`: no text, blank lines only, or an array without elements. */
  format: 'ndjson' | 'json-array' | 'empty';
  gzip: boolean;
}

/**
 * Reads no more of an input than it takes to tell what it is (gzip or not; NDJSON, a JSON array,
 * or empty), so a wrong file is refused before any work starts. Throws {@link PipelineInputError}
 * `not_json` for anything else (a CSV, a binary file) and `read_failed` when it cannot be read.
 */
export async function inspectExport(
  input: ExportInput,
  options: { name?: string } = {},
): Promise<ExportKind> {
  const opened = await openExport(input, options);
  const gzip = opened.state.gzip;
  const it = opened.text[Symbol.asyncIterator]();
  try {
    if (opened.format !== 'json-array') return { format: opened.format, gzip };
    // The text starts at its '['; the next character that is not blank tells an empty array.
    let skip = 1;
    for (;;) {
      const r = await it.next();
      if (r.done) return { format: 'empty', gzip };
      const chunk = r.value;
      let i = skip;
      skip = 0;
      while (i < chunk.length && isBlank(chunk[i]!)) i++;
      if (i < chunk.length) return { format: chunk[i] === 0x5d ? 'empty' : 'json-array', gzip };
    }
  } finally {
    await it.return?.();
  }
}

export type Fail = (
  code: PipelineErrorCode,
  message: string,
  hint?: string,
  cause?: unknown,
) => PipelineInputError;

async function* rawBytes(input: ExportInput, name: string, state: ReadState): AsyncGenerator<Buffer> {
  const source: AsyncIterable<Uint8Array> =
    typeof input === 'string' ? createReadStream(input, { highWaterMark: FILE_CHUNK }) : input;
  try {
    for await (const chunk of source) {
      const b = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      state.fileBytes += b.length;
      yield b;
    }
  } catch (err) {
    if (err instanceof PipelineInputError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new PipelineInputError(
      'read_failed',
      name,
      `Cannot read ${name}: ${e.code === 'ENOENT' ? 'no such file' : (e.message ?? String(err))} (after ${state.fileBytes} bytes)`,
      { progress: { ...state }, cause: err },
    );
  }
}

/** The first `n` bytes (fewer at the end of input) and an iterable of everything, those included. */
async function peek(
  source: AsyncGenerator<Buffer>,
  n: number,
): Promise<{ bytes: Buffer; rest: AsyncIterable<Buffer> }> {
  const got: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const r = await source.next();
    if (r.done) break;
    got.push(r.value);
    len += r.value.length;
  }
  const bytes = Buffer.concat(got);
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (bytes.length > 0) yield bytes;
      yield* source;
    } finally {
      // Also when this generator is closed before `yield* source` starts: release the file.
      await source.return(undefined);
    }
  }
  return { bytes, rest: rest() };
}

async function* guardGunzip(gunzip: AsyncIterable<Buffer>, fail: Fail): AsyncGenerator<Buffer> {
  try {
    yield* gunzip;
  } catch (err) {
    if (err instanceof PipelineInputError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'Z_BUF_ERROR') {
      throw fail(
        'truncated_gzip',
        'The gzip data ends before the file is complete (a truncated download?)',
        'Download the export again; an Auth0 export link can be renewed by reading the job again within 24 hours.',
        err,
      );
    }
    if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
      throw fail('bad_gzip', `The gzip data is corrupt: ${e.message}`, 'Download the export again.', err);
    }
    throw err;
  }
}

interface TextStart {
  /** The first non-blank byte after an optional BOM, its offset in the text, and the line breaks before it. */
  first: { char: number; offset: number; newlines: number } | undefined;
  /** The text from that byte on (BOM and leading blanks removed). */
  rest: AsyncIterable<Buffer>;
  /** Releases the input (its file) when `rest` will not be read. */
  close(): Promise<void>;
}

async function peekText(text: AsyncIterable<Buffer>): Promise<TextStart> {
  const it = text[Symbol.asyncIterator]();
  const close = async (): Promise<void> => {
    await it.return?.();
  };
  // The BOM check needs the first three bytes, whatever the chunks.
  const startParts: Buffer[] = [];
  let startLen = 0;
  let ended = false;
  while (startLen < 3) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    startParts.push(r.value);
    startLen += r.value.length;
  }
  let b: Buffer = Buffer.concat(startParts);
  let offset = 0;
  let newlines = 0;
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    b = b.subarray(3);
    offset = 3;
  }
  for (;;) {
    let i = 0;
    while (i < b.length && isBlank(b[i]!)) {
      if (b[i] === 0x0a) newlines++;
      i++;
    }
    offset += i;
    if (i < b.length) {
      const from = b.subarray(i);
      async function* rest(): AsyncGenerator<Buffer> {
        try {
          yield from;
          for (;;) {
            const n = await it.next();
            if (n.done) return;
            yield n.value;
          }
        } finally {
          await close();
        }
      }
      return { first: { char: from[0]!, offset, newlines }, rest: rest(), close };
    }
    if (ended) return { first: undefined, rest: empty(), close };
    const r = await it.next();
    if (r.done) return { first: undefined, rest: empty(), close };
    b = r.value;
  }
}

async function* empty(): AsyncGenerator<Buffer> {}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** What {@link splitLines} yields for a line longer than the limit (its bytes are dropped). */
export const OVERLONG: unique symbol = Symbol('overlong line');

/**
 * The text cut into runs of whole lines, in order: each Buffer holds one or more lines, each
 * ending with its line feed (the last line of the input may have none). A line longer than
 * `maxLine` bytes that spans chunks is not kept: {@link OVERLONG} stands for it. A Buffer may be
 * a view of the input's own chunk: copy it to keep it.
 */
export async function* splitLines(
  text: AsyncIterable<Buffer>,
  state: ReadState,
  maxLine: number,
): AsyncGenerator<Buffer | typeof OVERLONG> {
  let rest: Buffer | undefined;
  let overlong = false;
  for await (const chunk of text) {
    state.bytes += chunk.length;
    let start = 0;
    if (rest !== undefined || overlong) {
      const nl = chunk.indexOf(0x0a);
      if (nl === -1) {
        if (!overlong) {
          rest = Buffer.concat([rest!, chunk]);
          if (rest.length > maxLine) {
            overlong = true;
            rest = undefined;
          }
        }
        continue;
      }
      if (overlong) {
        overlong = false;
        yield OVERLONG;
      } else {
        yield Buffer.concat([rest!, chunk.subarray(0, nl + 1)]);
      }
      rest = undefined;
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    if (last >= start) {
      yield chunk.subarray(start, last + 1);
      start = last + 1;
    }
    if (start < chunk.length) {
      if (chunk.length - start > maxLine) overlong = true;
      else rest = chunk.subarray(start);
    }
  }
  if (overlong) yield OVERLONG;
  else if (rest !== undefined) yield rest;
}

async function* readLines(
  text: AsyncIterable<Buffer>,
  leadingLines: number,
  state: ReadState,
  options: ReadOptions,
  fail: Fail,
): AsyncGenerator<ReadItem[]> {
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE;
  const redact = options.redactParserMessages === true;
  // Leading blank lines were consumed by peekText; count them so line numbers match the file.
  let line = leadingLines;
  let out: ReadItem[] = [];
  const guard = new NotJsonGuard(fail);

  for await (const run of splitLines(text, state, maxLine)) {
    if (run === OVERLONG) {
      line++;
      state.lines = line;
      state.malformed++;
      guard.pass(malformed(line, `line longer than ${maxLine} bytes`), out);
    } else {
      let s = 0;
      while (s < run.length) {
        let e = run.indexOf(0x0a, s);
        if (e === -1) e = run.length;
        line++;
        state.lines = line;
        const value = parseLine(run, s, e, maxLine, redact);
        s = e + 1;
        if (value === undefined) continue;
        if (typeof value === 'string') {
          state.malformed++;
          guard.pass(malformed(line, value), out);
        } else {
          state.records++;
          const record: ReadRecord = { kind: 'record', source: { line }, record: value };
          guard.pass(record, out);
        }
      }
    }
    if (out.length > 0) {
      const ready = out;
      out = [];
      yield ready;
    }
  }
  guard.finish();
  if (out.length > 0) yield out;
}

/**
 * Holds malformed lines back until a record parses, so a file that is not JSON yields none: after
 * {@link NOT_JSON_AFTER} of them before any record, or at the end with only those, it is refused.
 */
export class NotJsonGuard {
  #held: Skipped[] | undefined = [];
  readonly #fail: Fail;

  constructor(fail: Fail) {
    this.#fail = fail;
  }

  /** Appends the item to `out`, with the lines held before it once a record comes. */
  pass(item: { kind?: string }, out: unknown[]): void {
    const held = this.#held;
    if (held === undefined) {
      out.push(item);
      return;
    }
    if (item.kind !== 'skipped' || (item as Skipped).reason !== 'malformed_line') {
      for (const h of held) out.push(h);
      this.#held = undefined;
      out.push(item);
      return;
    }
    held.push(item as Skipped);
    if (held.length >= NOT_JSON_AFTER) throw notJson(held, this.#fail);
  }

  /** Whether no record was read yet. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** A record was read (it need not reach `out` now): the lines held go to `out`. */
  recordRead(out: unknown[]): void {
    if (this.#held === undefined) return;
    for (const h of this.#held) out.push(h);
    this.#held = undefined;
  }

  /** At the end of input: throws when only malformed lines were read. */
  finish(): void {
    if (this.#held !== undefined && this.#held.length > 0) throw notJson(this.#held, this.#fail);
  }
}

/**
 * One NDJSON line, bytes `s` to `e` of `buf` without its line feed: the parsed object, undefined
 * for a blank line, or why the line is malformed.
 */
export function parseLine(
  buf: Buffer,
  s: number,
  e: number,
  maxLine: number,
  redact: boolean,
): ExportRecord | string | undefined {
  if (e > s && buf[e - 1] === 0x0d) e--;
  if (s === e) return undefined;
  if (e - s > maxLine) return `line longer than ${maxLine} bytes`;
  if (buf[s] !== 0x7b) {
    let i = s;
    while (i < e && isBlank(buf[i]!)) i++;
    if (i === e) return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8', s, e));
  } catch (err) {
    return parserReason(err, redact);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `not a JSON object (found ${describeValue(value)})`;
  }
  return value as ExportRecord;
}

function notJson(held: Skipped[], fail: Fail): PipelineInputError {
  const first = held[0]!;
  return fail(
    'not_json',
    `No line parses as a JSON object (line ${first.source.line}: ${first.detail}), so this is not an NDJSON export`,
    'Pass the users-export file itself (.ndjson, .ndjson.gz) or a JSON array of users.',
  );
}

async function* readArray(
  text: AsyncIterable<Buffer>,
  state: ReadState,
  options: ReadOptions,
  fail: Fail,
): AsyncGenerator<ReadItem[]> {
  const counted = (async function* () {
    for await (const chunk of text) {
      state.bytes += chunk.length;
      yield chunk;
    }
  })();
  const parser = StreamJson.parser();
  const elements = StreamArray.streamArray();
  pipeline(Readable.from(counted, { objectMode: false }), parser, elements, () => {});
  let out: ReadItem[] = [];
  try {
    for await (const item of elements as AsyncIterable<{ key: number; value: unknown }>) {
      const line = item.key + 1;
      const value = item.value;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        state.malformed++;
        out.push(
          malformed(line, `array element ${line} is not a JSON object (found ${describeValue(value)})`),
        );
      } else {
        state.records++;
        out.push({ kind: 'record', source: { line }, record: value as ExportRecord });
      }
      if (out.length >= ARRAY_CHUNK) {
        const ready = out;
        out = [];
        yield ready;
      }
    }
  } catch (err) {
    if (err instanceof PipelineInputError) throw err;
    const why = options.redactParserMessages === true ? 'not valid JSON' : (err as Error).message;
    throw fail(
      'bad_json_array',
      `The JSON array breaks off after element ${state.records + state.malformed}: ${why}`,
      'Check that the file is complete; an export can be downloaded again.',
      err,
    );
  }
  if (out.length > 0) yield out;
}

export function malformed(line: number, reason: string): Skipped {
  return { kind: 'skipped', source: { line }, reason: 'malformed_line', detail: `line ${line}: ${reason}` };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * V8's message, e.g. `Expected ',' or '}' after property value in JSON at position 42`. Redacted:
 * only the position, since V8 quotes a piece of the line in some messages.
 */
function parserReason(err: unknown, redact: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!redact) return message;
  const at = /position (\d+)/.exec(message);
  if (/end of JSON input/i.test(message)) return 'not valid JSON (the line ends early)';
  return at ? `not valid JSON at position ${at[1]}` : 'not valid JSON';
}
