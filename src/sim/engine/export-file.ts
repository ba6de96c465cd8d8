/**
 * The file of an Auth0 users-export job: gzipped NDJSON (`format: json`) or CSV, keys named by
 * `export_as` or `name`, paths like `identities[0].connection` resolved. Written as a stream, so a
 * million users never sit in memory at once.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type { ExportField } from '../tenant/jobs.js';
import { toApiUser, type SimUser } from '../tenant/users.js';

/**
 * Auth0 documents only "a predefined set" when `fields` is omitted; this mirrors the User
 * Import/Export extension's defaults.
 */
export const DEFAULT_EXPORT_FIELDS: readonly ExportField[] = [
  { name: 'user_id' },
  { name: 'given_name' },
  { name: 'family_name' },
  { name: 'nickname' },
  { name: 'name' },
  { name: 'email' },
  { name: 'email_verified' },
  { name: 'picture' },
  { name: 'identities[0].connection' },
  { name: 'created_at' },
  { name: 'updated_at' },
];

const DATE_FIELDS = new Set([
  'created_at',
  'updated_at',
  'last_login',
  'last_password_reset',
  'multifactor_last_modified',
]);

type Step = string | number;

function parsePath(name: string): Step[] {
  const steps: Step[] = [];
  for (const part of name.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      steps.push(part);
      continue;
    }
    if (m[1] !== '') steps.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) steps.push(Number(idx[1]));
  }
  return steps;
}

function resolve(obj: unknown, steps: Step[]): unknown {
  let cur = obj;
  for (const s of steps) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

export interface CompiledFields {
  keys: string[];
  paths: Step[][];
  names: string[];
}

export function compileFields(fields: readonly ExportField[]): CompiledFields {
  return {
    keys: fields.map((f) => f.export_as ?? f.name),
    paths: fields.map((f) => parsePath(f.name)),
    names: fields.map((f) => f.name),
  };
}

export function ndjsonLine(user: SimUser, f: CompiledFields): string {
  const api = toApiUser(user);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < f.keys.length; i++) {
    const v = resolve(api, f.paths[i]!);
    if (v !== undefined) out[f.keys[i]!] = v;
  }
  return JSON.stringify(out);
}

/** Auth0's CSV escaping against spreadsheet formula injection: `'`-prefixed, quoted, `"` doubled. */
function csvCell(name: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string' && DATE_FIELDS.has(name)) return v;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return `"'${s.replace(/"/g, '""')}"`;
}

export function csvHeader(f: CompiledFields): string {
  return f.keys.join(',');
}

export function csvLine(user: SimUser, f: CompiledFields): string {
  const api = toApiUser(user);
  return f.paths.map((p, i) => csvCell(f.names[i]!, resolve(api, p))).join(',');
}

export interface WriteExportOptions {
  path: string;
  users: Iterable<SimUser>;
  fields: readonly ExportField[];
  format: 'json' | 'csv';
  limit: number | undefined;
  /** Users per second; `Infinity` for as fast as possible. */
  rate: number;
  onProgress: (written: number) => void;
  signal: AbortSignal;
}

/** Streams users into a gzip file; resolves with the number written. */
export async function writeExportFile(o: WriteExportOptions): Promise<number> {
  const f = compileFields(o.fields);
  const gzip = createGzip();
  const done = pipeline(gzip, createWriteStream(o.path, { mode: 0o600 }), { signal: o.signal });
  const started = Date.now();
  let written = 0;
  let chunk = o.format === 'csv' ? `${csvHeader(f)}\n` : '';
  try {
    for (const user of o.users) {
      if (o.limit !== undefined && written >= o.limit) break;
      chunk += (o.format === 'csv' ? csvLine(user, f) : ndjsonLine(user, f)) + '\n';
      written++;
      if (
        chunk.length >= 64 * 1024 ||
        (o.rate !== Infinity && written % Math.max(1, Math.floor(o.rate / 10)) === 0)
      ) {
        if (!gzip.write(chunk)) await once(gzip, 'drain', { signal: o.signal });
        chunk = '';
        o.onProgress(written);
        // Let the server answer other requests while a big export is written.
        await yieldToLoop(undefined, { signal: o.signal });
        if (o.rate !== Infinity) {
          const due = started + (written / o.rate) * 1000 - Date.now();
          if (due > 0) await sleep(due, undefined, { signal: o.signal });
        }
      }
    }
    gzip.end(chunk);
    await done;
  } catch (err) {
    gzip.destroy();
    await done.catch(() => undefined);
    throw err;
  }
  o.onProgress(written);
  return written;
}
