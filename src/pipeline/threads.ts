/**
 * The pipeline on several threads. The main thread reads and gunzips the input and cuts it into
 * pieces of whole lines; worker threads (thread-worker.ts) parse and prepare the records of a
 * piece (piece.ts, prepare.ts), and so does the main thread for a share of the pieces; the main
 * thread takes the results in input order and does what depends on the records before each
 * one: the duplicate filter, batch boundaries, accounting.
 * The outputs are exactly those of the one-thread pipeline, batch for batch and byte for byte
 * (tests compare them), so a run may resume on a machine with another number of cores.
 *
 * Users in the batches are {@link ThreadCandidate}s: their `user` and `original` are parsed from
 * the bytes the threads produced only when read, since the main thread's time is what bounds
 * the speed here. Memory: at most {@link IN_FLIGHT_PER_THREAD} pieces of about {@link PIECE_BYTES}
 * per thread, plus the pieces the candidates of unconsumed batches still point into.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { OutcomeCounter } from './accounting.js';
import type { Batcher } from './batch.js';
import type { DuplicateFilter } from './duplicates.js';
import { PipelineInputError } from './errors.js';
import type { MigratedIndex } from './migrated-index.js';
import { createPieceProcessor, type PieceOutcomes } from './piece.js';
import {
  DEFAULT_MAX_LINE,
  NotJsonGuard,
  OVERLONG,
  malformed,
  splitLines,
  type OpenedExport,
} from './read.js';
import {
  KIND_CODES,
  SKIP_REASONS,
  type PieceFailure,
  type PieceResult,
  type ThreadSetup,
} from './thread-protocol.js';
import { FieldCheck } from './transform.js';
import type {
  ExportRecord,
  ImportCandidate,
  ImportUser,
  PipelineOutput,
  RecordSource,
  Skipped,
} from './types.js';

/** Bytes of input per piece handed to a thread. */
export const PIECE_BYTES = 256 * 1024;
/**
 * Pieces waiting to be taken, per thread: enough that a thread always has the next one queued
 * while the main thread prepares its own share.
 */
export const IN_FLIGHT_PER_THREAD = 6;
/** An input smaller than this (on disk) is read on the main thread alone: threads take time to start. */
export const THREADS_FROM_BYTES = 8 * 1024 * 1024;
const MAX_AUTO_THREADS = 4;
/** Threads with nothing to do this long stop, and start again when pieces come. */
export const THREAD_IDLE_MS = 60_000;
/** Pieces sent to a thread and not yet answered, at most, before the main thread takes one. */
const QUEUED_PER_THREAD = 3;
const THREAD_YOUNG_GENERATION_MB = 4;

export interface ThreadChoice {
  /** Worker threads: 0 reads on this thread; undefined picks by input size and cores. */
  threads?: number | undefined;
  input: unknown;
  /** Password hashes are merged on the main thread only, so a run with them uses no workers. */
  hashes?: unknown;
}

/** Worker threads for a run: 0 (this thread) for JSON arrays, runs with password hashes, streams and small files. */
export async function threadCount(choice: ThreadChoice, format: OpenedExport['format']): Promise<number> {
  if (format !== 'ndjson' || choice.hashes !== undefined) return 0;
  if (choice.threads !== undefined) return Math.max(0, Math.floor(choice.threads));
  const cores = availableParallelism();
  if (cores < 2 || typeof choice.input !== 'string') return 0;
  const size = await stat(choice.input).then(
    (s) => s.size,
    () => 0,
  );
  // One core stays with the main thread, which prepares a share of the pieces itself.
  return size >= THREADS_FROM_BYTES ? Math.min(cores - 1, MAX_AUTO_THREADS) : 0;
}

/** An import candidate whose user and original record are parsed when first read. */
export class ThreadCandidate implements ImportCandidate {
  readonly kind = 'import' as const;
  readonly source: RecordSource;
  hasPassword = false;
  notes?: string[];
  readonly #json: Buffer;
  readonly #jsonFrom: number;
  readonly #jsonTo: number;
  readonly #original: LazyOriginal;
  #user: ImportUser | undefined;

  constructor(source: RecordSource, json: Buffer, jsonFrom: number, jsonTo: number, original: LazyOriginal) {
    this.source = source;
    this.#json = json;
    this.#jsonFrom = jsonFrom;
    this.#jsonTo = jsonTo;
    this.#original = original;
  }

  get user(): ImportUser {
    return (this.#user ??= JSON.parse(
      this.#json.toString('utf8', this.#jsonFrom, this.#jsonTo),
    ) as ImportUser);
  }

  get original(): ExportRecord {
    return this.#original.value();
  }
}

/** A skipped record whose original is parsed when first read. */
class ThreadSkipped implements Skipped {
  readonly kind = 'skipped' as const;
  readonly source: RecordSource;
  readonly reason: Skipped['reason'];
  readonly detail: string;
  readonly #original: LazyOriginal | undefined;

  constructor(
    source: RecordSource,
    reason: Skipped['reason'],
    detail: string,
    original: LazyOriginal | undefined,
  ) {
    this.source = source;
    this.reason = reason;
    this.detail = detail;
    this.#original = original;
  }

  get original(): ExportRecord | undefined {
    return this.#original?.value();
  }
}

/** A record as read: its line in a piece, or its JSON without password fields. */
class LazyOriginal {
  #value: ExportRecord | undefined;
  constructor(
    readonly input: Buffer,
    readonly from: number,
    readonly to: number,
    readonly json: string | undefined,
  ) {}

  value(): ExportRecord {
    return (this.#value ??= JSON.parse(
      this.json ?? this.input.toString('utf8', this.from, this.to),
    ) as ExportRecord);
  }
}

export interface ThreadedRun {
  options: {
    connection: string;
    skipBlocked?: boolean | undefined;
    migrated?: MigratedIndex | undefined;
  };
  name: string;
  opened: OpenedExport;
  threads: number;
  /** How long threads wait with nothing to do before they stop. @defaultValue {@link THREAD_IDLE_MS} */
  idleMs?: number | undefined;
  counter: OutcomeCounter;
  duplicates: DuplicateFilter;
  batcher: Batcher;
  /** Told how many threads have been started so far, whenever asked. */
  onPool?: (started: () => number) => void;
}

interface Pending {
  promise: Promise<PieceResult>;
}

/** A piece the main thread prepares itself, when its turn comes. */
interface Local {
  local: Buffer;
}

type Unit = Pending | Local | typeof OVERLONG;

/** The pipeline's outputs, as the one-thread run in index.ts gives them, with `threads` workers. */
export async function* runThreaded(run: ThreadedRun): AsyncGenerator<PipelineOutput> {
  const { opened, counter, duplicates, batcher, name } = run;
  const state = opened.state;
  const setup: ThreadSetup = {
    connection: run.options.connection,
    name,
    skipBlocked: run.options.skipBlocked === true,
    maxBatchBytes: batcher.maxBatchBytes,
    maxProfileBytes: batcher.maxProfileBytes,
    maxLineBytes: DEFAULT_MAX_LINE,
    migrated: run.options.migrated?.shared(),
  };
  const pool = new ThreadPool(run.threads, setup, run.idleMs ?? THREAD_IDLE_MS);
  run.onPool?.(() => pool.started);
  const guard = new NotJsonGuard(opened.fail);
  const fields = new FieldCheck(name);
  let line = opened.leadingLines;
  let out: PipelineOutput[] = [];
  // Counted once they leave the guard, as on one thread, where the guard sits in the reader.
  const count = (from: number): void => {
    for (let i = from; i < out.length; i++) counter.add(out[i]!);
  };
  const emit = (item: PipelineOutput): void => {
    const from = out.length;
    guard.pass(item, out);
    count(from);
  };

  const take = (result: PieceResult): void => {
    const { n, kind, ids, emails, details, input, json, jsonEnd, keys, hasId } = result;
    let skip = 0;
    let imp = 0;
    let notes = 0;
    let stripped = 0;
    let unmapped = 0;
    for (let i = 0; i < n; i++) {
      const k = kind[i]!;
      const source: RecordSource = { line: line + result.line[i]! };
      state.lines = source.line;
      const id = ids[i];
      if (id !== null && id !== undefined) source.userId = id;
      const email = emails[i];
      if (email !== null && email !== undefined) source.email = email;
      if (k === KIND_CODES.malformed_line) {
        state.malformed++;
        emit(malformed(source.line, details[skip++]!));
        continue;
      }
      state.records++;
      if (guard.holding) {
        const from = out.length;
        guard.recordRead(out);
        count(from);
      }
      if (fields.open) {
        const u = result.unmapped[unmapped];
        if (u !== undefined && u[0] === i) {
          unmapped++;
          fields.record(u[1]);
        } else fields.record(undefined);
      }
      if (k === KIND_CODES.migrated_user_id || k === KIND_CODES.migrated_email) {
        emit({
          kind: 'already_migrated',
          source,
          matchedBy: k === KIND_CODES.migrated_user_id ? 'user_id' : 'email',
        });
        continue;
      }
      const s = result.stripped[stripped];
      let strippedJson: string | undefined;
      if (s !== undefined && s[0] === i) {
        stripped++;
        strippedJson = s[1];
      }
      const original = new LazyOriginal(input, result.from[i]!, result.to[i]!, strippedJson);
      if (k !== KIND_CODES.import) {
        emit(
          new ThreadSkipped(
            source,
            SKIP_REASONS[k - KIND_CODES.not_database_user]!,
            details[skip++]!,
            // As on one thread, a record nested too deep carries no original.
            k === KIND_CODES.too_deep ? undefined : original,
          ),
        );
        continue;
      }
      const jsonFrom = imp === 0 ? 0 : jsonEnd[imp - 1]!;
      const jsonTo = jsonEnd[imp]!;
      const candidate = new ThreadCandidate(source, json, jsonFrom, jsonTo, original);
      const noted = result.notes[notes];
      if (noted !== undefined && noted[0] === i) {
        notes++;
        candidate.notes = noted[1];
      }
      const duplicate = duplicates.checkKeys(candidate, keys, hasId[imp] === 1, imp * 6);
      imp++;
      if (duplicate !== undefined) {
        emit(duplicate);
        continue;
      }
      const batch = batcher.placeBytes(candidate, json, jsonFrom, jsonTo);
      if (batch !== undefined) emit(batch);
    }
    line += result.lines;
    state.lines = line;
  };

  const units: Unit[] = [];
  let processLocal: ((input: Buffer) => PieceOutcomes) | undefined;
  const settle = async (): Promise<void> => {
    const unit = units.shift()!;
    if (unit === OVERLONG) {
      line++;
      state.lines = line;
      state.malformed++;
      emit(malformed(line, `line longer than ${DEFAULT_MAX_LINE} bytes`));
    } else if ('local' in unit) {
      processLocal ??= createPieceProcessor(setup, run.options.migrated);
      take({ seq: -1, ...processLocal(unit.local) });
    } else {
      take(await unit.promise);
    }
  };

  try {
    let parts: Buffer[] = [];
    let partBytes = 0;
    // A piece goes to a thread while one has room; otherwise the main thread prepares it itself
    // when its turn comes, which keeps every thread busy whatever the main thread's other work.
    const send = (): void => {
      const buf = Buffer.from(new ArrayBuffer(partBytes));
      let at = 0;
      for (const p of parts) {
        buf.set(p, at);
        at += p.length;
      }
      parts = [];
      partBytes = 0;
      units.push(pool.hasRoom(QUEUED_PER_THREAD) ? { promise: pool.run(buf) } : { local: buf });
    };
    const limit = run.threads * IN_FLIGHT_PER_THREAD;
    const ready = (): PipelineOutput[] => {
      const items = out;
      out = [];
      return items;
    };
    let readError: unknown;
    try {
      for await (const piece of splitLines(opened.text, state, DEFAULT_MAX_LINE)) {
        if (piece === OVERLONG) {
          if (partBytes > 0) send();
          units.push(OVERLONG);
        } else {
          parts.push(piece);
          partBytes += piece.length;
          if (partBytes >= PIECE_BYTES) send();
        }
        while (units.length > limit) await settle();
        if (out.length > 0) yield* ready();
      }
    } catch (err) {
      // The input breaks off: what was read before still comes out, as on one thread.
      readError = err;
    }
    if (partBytes > 0) send();
    while (units.length > 0) {
      await settle();
      if (out.length > 0) yield* ready();
    }
    if (readError instanceof PipelineInputError && readError.reason !== undefined) {
      // Said again with the lines and records counted now that they are all taken.
      throw opened.fail(readError.code, readError.reason, readError.hint, readError.cause);
    }
    if (readError !== undefined) throw readError;
    guard.finish();
    fields.finish();
    const last = batcher.flush();
    if (last !== undefined) emit(last);
    counter.setTotal(state.records + state.malformed);
    yield* out;
  } finally {
    // Results still on their way are of no use now; keep their rejections from going unhandled.
    for (const u of units) if (u !== OVERLONG && 'promise' in u) u.promise.catch(() => {});
    await pool.close();
  }
}

/** A piece sent to a thread, waiting for its answer. */
interface Waiter {
  resolve: (r: PieceResult) => void;
  reject: (e: Error) => void;
}

/**
 * Worker threads, each taking pieces in the order sent and answering in that order. Threads
 * with nothing to do for `idleMs` stop (a consumer may pause the pipeline for hours, as the
 * plan stage does while Auth0 imports) and start again when pieces come.
 */
class ThreadPool {
  readonly #count: number;
  readonly #setup: ThreadSetup;
  readonly #idleMs: number;
  #workers: Worker[] = [];
  #waiting: Waiter[][] = [];
  #seq = 0;
  #started = 0;
  #failed: Error | undefined;
  #idle: NodeJS.Timeout | undefined;

  constructor(count: number, setup: ThreadSetup, idleMs: number) {
    this.#count = count;
    this.#setup = setup;
    this.#idleMs = idleMs;
    this.#start();
  }

  /** Threads started so far, restarts after an idle stop included. */
  get started(): number {
    return this.#started;
  }

  #start(): void {
    for (let w = 0; w < this.#count; w++) {
      const worker = startWorker(this.#setup);
      this.#started++;
      const waiting: Waiter[] = [];
      worker.on('message', (m: PieceResult | PieceFailure) => {
        const next = waiting.shift();
        if (next === undefined) return;
        if ('error' in m) {
          const err = new Error(`pipeline thread: ${m.error.message}`);
          if (m.error.stack !== undefined) err.stack = m.error.stack;
          next.reject(err);
        } else {
          m.input = Buffer.from(m.input.buffer, m.input.byteOffset, m.input.byteLength);
          m.json = Buffer.from(m.json.buffer, m.json.byteOffset, m.json.byteLength);
          next.resolve(m);
        }
        if (this.#waiting.every((q) => q.length === 0)) this.#armIdle();
      });
      const fail = (err: Error): void => {
        this.#failed ??= err;
        for (const p of waiting.splice(0)) p.reject(err);
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (waiting.length > 0) fail(new Error(`pipeline thread stopped (exit code ${code})`));
      });
      this.#workers.push(worker);
      this.#waiting.push(waiting);
    }
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#waiting.some((q) => q.length > 0)) return;
      const stopping = this.#workers;
      this.#workers = [];
      this.#waiting = [];
      for (const w of stopping) void w.terminate();
    }, this.#idleMs);
    // An idle stop never keeps the process alive.
    this.#idle.unref();
  }

  /** Whether some thread has fewer than `queued` pieces sent and not yet answered. */
  hasRoom(queued: number): boolean {
    return this.#workers.length === 0 || this.#waiting.some((w) => w.length < queued);
  }

  /** Sends the piece to the thread with the fewest pieces waiting. */
  run(buf: Uint8Array): Promise<PieceResult> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    clearTimeout(this.#idle);
    this.#idle = undefined;
    if (this.#workers.length === 0) this.#start();
    const seq = this.#seq++;
    let w = 0;
    for (let i = 1; i < this.#waiting.length; i++) {
      if (this.#waiting[i]!.length < this.#waiting[w]!.length) w = i;
    }
    return new Promise<PieceResult>((resolve, reject) => {
      this.#waiting[w]!.push({ resolve, reject });
      this.#workers[w]!.postMessage({ seq, buf }, [buf.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.#failed ??= new Error('pipeline threads closed');
    clearTimeout(this.#idle);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/**
 * Starts thread-worker.js beside this file; from the TypeScript sources (tests, `tsx`), the .ts
 * file through thread-worker.dev.mjs, which loads tsx first.
 */
function startWorker(setup: ThreadSetup): Worker {
  const here = import.meta.url;
  const file = here.endsWith('.ts') ? './thread-worker.dev.mjs' : './thread-worker.js';
  // Records die young in a thread: a small young generation costs no speed and saves memory.
  return new Worker(new URL(file, here), {
    workerData: setup,
    resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
  });
}
