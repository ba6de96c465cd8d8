/**
 * One piece of input (whole NDJSON lines) to compact outcomes: each line parsed and prepared
 * (prepare.ts: transform, migrated index, schema check, serialisation, keys). Runs in the worker
 * threads (thread-worker.ts) and, for its share of the pieces, on the main thread (threads.ts).
 */
import type { MigratedIndex } from './migrated-index.js';
import { createPreparer } from './prepare.js';
import { parseLine } from './read.js';
import { KIND_CODES, type PieceResult, type ThreadSetup } from './thread-protocol.js';

export type PieceOutcomes = Omit<PieceResult, 'seq'>;

/** A function from a piece to its outcomes; `migrated` as this thread sees the index. */
export function createPieceProcessor(
  setup: ThreadSetup,
  migrated: MigratedIndex | undefined,
): (input: Buffer) => PieceOutcomes {
  const preparer = createPreparer({
    connection: setup.connection,
    name: setup.name,
    skipBlocked: setup.skipBlocked,
    migrated,
    maxBatchBytes: setup.maxBatchBytes,
    maxProfileBytes: setup.maxProfileBytes,
    checkFields: false,
  });
  const { transformer } = preparer;
  const scratch = new Uint32Array(6);

  return function processPiece(input: Buffer): PieceOutcomes {
    let n = 0;
    let imports = 0;
    let cap = 1024;
    let kind = new Uint8Array(cap);
    let lineOf = new Int32Array(cap);
    let from = new Int32Array(cap);
    let to = new Int32Array(cap);
    const ids: Array<string | null> = [];
    const emails: Array<string | null> = [];
    const details: string[] = [];
    const notes: Array<[number, string[]]> = [];
    const stripped: Array<[number, string]> = [];
    const unmapped: Array<[number, string[]]> = [];
    // Each user's JSON is at most 3 bytes per UTF-16 unit of its text: room is checked before writing.
    let json = Buffer.allocUnsafeSlow(input.length + 4096);
    let jsonAt = 0;
    const jsonEnd: number[] = [];
    const hasId: number[] = [];
    let keys = new Uint32Array(6 * 256);

    let line = 0;
    let s = 0;
    while (s < input.length) {
      let e = input.indexOf(0x0a, s);
      if (e === -1) e = input.length;
      line++;
      const value = parseLine(input, s, e, setup.maxLineBytes, false);
      const lineStart = s;
      s = e + 1;
      if (value === undefined) continue;
      if (n === cap) {
        cap *= 2;
        kind = grow(kind, cap);
        lineOf = grow(lineOf, cap);
        from = grow(from, cap);
        to = grow(to, cap);
      }
      lineOf[n] = line;
      from[n] = lineStart;
      to[n] = e;
      if (typeof value === 'string') {
        kind[n] = KIND_CODES.malformed_line;
        ids.push(null);
        emails.push(null);
        details.push(value);
        n++;
        continue;
      }
      const p = preparer.prepare(value, line, scratch);
      const u = transformer.lastUnmapped;
      if (u !== undefined) unmapped.push([n, u]);
      ids.push(p.source.userId ?? null);
      emails.push(p.source.email ?? null);
      if (p.kind === 'already_migrated') {
        kind[n] = p.matchedBy === 'user_id' ? KIND_CODES.migrated_user_id : KIND_CODES.migrated_email;
      } else if (p.kind === 'skipped') {
        kind[n] = KIND_CODES[p.reason];
        details.push(p.detail);
        if (p.original !== undefined && p.original !== value) stripped.push([n, JSON.stringify(p.original)]);
      } else {
        kind[n] = KIND_CODES.import;
        if (p.original !== value) stripped.push([n, JSON.stringify(p.original)]);
        if (p.notes !== undefined) notes.push([n, p.notes]);
        const text = preparer.json;
        if (jsonAt + text.length * 3 > json.length) {
          const bigger = Buffer.allocUnsafeSlow(Math.max(json.length * 2, jsonAt + text.length * 3));
          json.copy(bigger, 0, 0, jsonAt);
          json = bigger;
        }
        jsonAt += json.write(text, jsonAt, 'utf8');
        jsonEnd.push(jsonAt);
        hasId.push(preparer.hasId ? 1 : 0);
        if ((imports + 1) * 6 > keys.length) keys = grow(keys, keys.length * 2);
        keys.set(scratch, imports * 6);
        imports++;
      }
      n++;
    }
    return {
      lines: line,
      input,
      n,
      kind: kind.subarray(0, n),
      line: lineOf.subarray(0, n),
      from: from.subarray(0, n),
      to: to.subarray(0, n),
      ids,
      emails,
      details,
      notes,
      stripped,
      unmapped,
      json: json.subarray(0, jsonAt),
      jsonEnd: Int32Array.from(jsonEnd),
      keys: keys.subarray(0, imports * 6),
      hasId: Uint8Array.from(hasId),
    };
  };
}

function grow<T extends Uint8Array | Int32Array | Uint32Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}
