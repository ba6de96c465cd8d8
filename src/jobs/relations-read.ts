/**
 * Reads what the relation families ask for from both tenants into work files of the run, page by
 * page (nothing is held whole), and serves them back to the pure diffs as a {@link DiffInput}.
 *
 * A source read once per parent (each role's users, each user's permissions) goes to one file with
 * an index of where each parent's lines start and end, so a diff reads one parent at a time.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isAuth0Error } from '../auth0/errors.js';
import type { TenantClient } from '../auth0/types.js';
import {
  OLD_USERS_SOURCE,
  type DiffInput,
  type RelationFamily,
  type SourceRecord,
  type SourceSpec,
} from '../relations/family.js';
import type { RelationOptions, TenantSide } from '../relations/types.js';
import { FILE_MODE } from '../report/files.js';

/** Parents read at once for a per-parent source (the rate budget paces them). */
const PARENT_CONCURRENCY = 8;

interface SourceIndex {
  /** `[parent, start, end]` byte ranges of the file, in the order read. */
  parents: Array<[string, number, number]>;
  unavailable?: string;
}

export interface ReadOptions {
  clients: Record<TenantSide, TenantClient>;
  /** `work/relations/` of the run. */
  dir: string;
  options: RelationOptions;
  userInNew: (userId: string) => Promise<boolean>;
  /** The old tenant's user ids, for sources read once per user. */
  oldUsers: () => AsyncIterable<string>;
  signal?: AbortSignal;
  /** Called after each page with the records read so far. */
  onProgress?: (records: number) => void;
}

const fileOf = (dir: string, tenant: TenantSide, family: string, source: string): string =>
  join(dir, `${tenant}.${family}.${source}.ndjson`);

function pick(item: Record<string, unknown>, fields: readonly string[] | undefined): Record<string, unknown> {
  if (fields === undefined) return item;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (item[f] !== undefined) out[f] = item[f];
  return out;
}

class Output {
  readonly #stream: WriteStream;
  offset = 0;

  constructor(path: string) {
    this.#stream = createWriteStream(path, { mode: FILE_MODE, flags: 'w' });
  }

  async write(text: string): Promise<void> {
    this.offset += Buffer.byteLength(text);
    if (!this.#stream.write(text))
      await new Promise<void>((resolve) => this.#stream.once('drain', () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#stream.once('error', reject);
      this.#stream.end(resolve);
    });
  }
}

/**
 * Reads every source of `families` the options ask for, in order; answers the records read and
 * the list pages (requests) it took per tenant. A source is read from both tenants at once (each
 * tenant has its own rate budget), unless its parents come from the other tenant's records.
 */
export async function readSources(
  families: readonly RelationFamily[],
  ro: ReadOptions,
): Promise<{ records: number; requests: Record<TenantSide, number> }> {
  let records = 0;
  const pages: Record<TenantSide, number> = { old: 0, new: 0 };
  const progress = (added: number): void => {
    records += added;
    ro.onProgress?.(records);
  };
  for (const family of families) {
    for (const spec of family.sources) {
      if (spec.when !== undefined && !spec.when(ro.options)) continue;
      ro.signal?.throwIfAborted();
      const read = (tenant: TenantSide) => readSource(family.name, spec, tenant, ro, pages, progress);
      if (spec.each?.tenant === undefined) await Promise.all(spec.tenants.map(read));
      else for (const tenant of spec.tenants) await read(tenant);
    }
  }
  return { records, requests: pages };
}

async function readSource(
  family: string,
  spec: SourceSpec,
  tenant: TenantSide,
  ro: ReadOptions,
  pages: Record<TenantSide, number>,
  progress: (added: number) => void,
): Promise<number> {
  const path = fileOf(ro.dir, tenant, family, spec.name);
  const out = new Output(path);
  const index: SourceIndex = { parents: [] };
  const client = ro.clients[tenant];
  let count = 0;
  const fetch = async (parent: string | undefined): Promise<Array<Record<string, unknown>>> => {
    const items: Array<Record<string, unknown>> = [];
    const where =
      parent === undefined ? spec.path : spec.path.replace('{parent}', encodeURIComponent(parent));
    for await (const page of client.list(where, {
      key: spec.key,
      paging: spec.paging,
      ...(spec.query && { query: spec.query }),
    })) {
      pages[tenant]++;
      for (const item of page) items.push(pick(item, spec.fields));
    }
    return items;
  };
  try {
    if (spec.each === undefined) {
      for (const item of await fetch(undefined)) {
        await out.write(`${JSON.stringify({ item })}\n`);
        count++;
      }
      progress(count);
    } else {
      const running = new Set<Promise<void>>();
      for await (const parent of parentsOf(family, spec, tenant, ro)) {
        const task = (async () => {
          const items = await fetch(parent);
          if (items.length === 0) return;
          // The range is taken before the write yields: other parents' lines may follow at once.
          const text = items.map((item) => `${JSON.stringify({ parent, item })}\n`).join('');
          const start = out.offset;
          index.parents.push([parent, start, start + Buffer.byteLength(text)]);
          await out.write(text);
          count += items.length;
          progress(items.length);
        })();
        running.add(task);
        void task.finally(() => running.delete(task)).catch(() => undefined);
        if (running.size >= PARENT_CONCURRENCY) await Promise.race(running);
      }
      await Promise.all(running);
    }
  } catch (err) {
    // An optional source the tenant lacks (no such feature, or the scope is not granted).
    if (
      spec.optional === true &&
      (isAuth0Error(err, 'not_found') ||
        isAuth0Error(err, 'missing_scope') ||
        isAuth0Error(err, 'not_available'))
    ) {
      index.unavailable = err.message;
    } else {
      await out.close().catch(() => undefined);
      throw err;
    }
  }
  await out.close();
  await writeFile(`${path}.index.json`, JSON.stringify(index), { mode: FILE_MODE });
  return count;
}

async function* parentsOf(
  family: string,
  spec: SourceSpec,
  tenant: TenantSide,
  ro: ReadOptions,
): AsyncGenerator<string> {
  const each = spec.each!;
  if (each.source === OLD_USERS_SOURCE) {
    yield* ro.oldUsers();
    return;
  }
  const from = each.tenant ?? tenant;
  const input = await fileInput(ro.dir, family, ro.userInNew);
  if (each.distinct === true) {
    for await (const parent of input.parents(from, each.source)) {
      if (each.usersInNew === true && !(await ro.userInNew(parent))) continue;
      if (each.where !== undefined) {
        let accepted = false;
        for await (const r of input.read(from, each.source, parent)) {
          if (each.where(r)) {
            accepted = true;
            break;
          }
        }
        if (!accepted) continue;
      }
      yield parent;
    }
    return;
  }
  for await (const r of input.read(from, each.source)) {
    if (each.where !== undefined && !each.where(r)) continue;
    const id = r.item.id;
    if (typeof id === 'string' && id !== '') yield id;
  }
}

async function readIndex(path: string): Promise<SourceIndex | undefined> {
  try {
    return JSON.parse(await readFile(`${path}.index.json`, 'utf8')) as SourceIndex;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function* lines(path: string, range?: { start: number; end: number }): AsyncGenerator<SourceRecord> {
  const stream = createReadStream(
    path,
    range === undefined ? {} : { start: range.start, end: range.end - 1 },
  );
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const text of rl) if (text !== '') yield JSON.parse(text) as SourceRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  } finally {
    rl.close();
    stream.destroy();
  }
}

/** The work files of one family as its diff's input. Sources never read answer nothing. */
export async function fileInput(
  dir: string,
  family: string,
  userInNew: (userId: string) => Promise<boolean>,
): Promise<DiffInput> {
  const indexes = new Map<
    string,
    { index: SourceIndex | undefined; ranges: Map<string, [number, number]> }
  >();
  const indexOf = async (tenant: TenantSide, source: string) => {
    const path = fileOf(dir, tenant, family, source);
    let entry = indexes.get(path);
    if (entry === undefined) {
      const index = await readIndex(path);
      const ranges = new Map<string, [number, number]>();
      for (const [p, start, end] of index?.parents ?? []) ranges.set(p, [start, end]);
      entry = { index, ranges };
      indexes.set(path, entry);
    }
    return { path, ...entry };
  };
  // unavailable() is synchronous: the indexes are read up front.
  const unavailable = new Set<string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = /^(old|new)\.([^.]+)\.(.+)\.ndjson\.index\.json$/.exec(name);
    if (m === null || m[2] !== family) continue;
    const { index } = await indexOf(m[1] as TenantSide, m[3]!);
    if (index?.unavailable !== undefined) unavailable.add(`${m[1]}.${m[3]}`);
  }
  return {
    async *read(tenant, source, parent) {
      const { path, index, ranges } = await indexOf(tenant, source);
      if (index === undefined) return;
      if (parent === undefined) {
        yield* lines(path);
        return;
      }
      const range = ranges.get(parent);
      if (range !== undefined) yield* lines(path, { start: range[0], end: range[1] });
    },
    async *parents(tenant, source) {
      const { index } = await indexOf(tenant, source);
      for (const [p] of index?.parents ?? []) yield p;
    },
    unavailable: (tenant, source) => unavailable.has(`${tenant}.${source}`),
    userInNew,
  };
}
