import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import { InputError } from '../errors.js';

/** Report files hold personal data: owner read/write only, folders owner only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/**
 * The files of a run's report folder, relative to it. The imported and already-migrated files
 * name most of a run's users, so they are always gzipped; the others stay plain text to read
 * and edit by hand (`import` accepts retry.ndjson as it is).
 */
export const REPORT_FILES = {
  summaryJson: 'summary.json',
  summaryMd: 'summary.md',
  summaryHtml: 'summary.html',
  imported: 'imported.ndjson.gz',
  alreadyMigrated: 'already-migrated.ndjson.gz',
  failures: 'failures.ndjson',
  skipped: 'skipped.ndjson',
  retry: 'retry.ndjson',
  resets: 'resets.ndjson',
} as const;

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The run's folder under `reportsDir`; refuses ids that could leave it (`..`, `/`). */
export function runDir(reportsDir: string, runId: string): string {
  if (!RUN_ID.test(runId) || runId.includes('..')) {
    throw new InputError(
      `"${runId}" is not a run id: use letters, digits, ".", "_" and "-" (as listed by \`auth0-migrate runs\`)`,
    );
  }
  return join(reportsDir, runId);
}

/** Creates the folder (and parents) and makes sure it is owner-only even when it already existed. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await chmod(dir, DIR_MODE);
}

export interface AtomicFileOptions {
  /** Compress what is written (one gzip stream). @defaultValue false */
  gzip?: boolean;
}

/**
 * A file written under a temporary name and renamed into place on `commit()`, so a reader (or a
 * crash) never sees half of it. Writes are buffered and flushed in chunks; with `gzip` they are
 * compressed on the way (one gzip stream).
 */
export class AtomicFile {
  readonly path: string;
  readonly #tmp: string;
  #fh: FileHandle | undefined;
  #gzip: { stream: Gzip; done: Promise<void> } | undefined;
  #chunks: string[] = [];
  #size = 0;

  private constructor(path: string) {
    this.path = path;
    this.#tmp = join(
      dirname(path),
      `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
    );
  }

  static async create(path: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    const file = new AtomicFile(path);
    const fh = await open(file.#tmp, 'wx', FILE_MODE);
    file.#fh = fh;
    // The mode given to open() is reduced by the umask; set it exactly.
    await fh.chmod(FILE_MODE);
    if (options.gzip === true) {
      const stream = createGzip();
      // The file stream owns the handle from here: it syncs and closes it when the gzip ends
      // (a handle a stream still holds never finishes closing).
      const done = pipeline(stream, fh.createWriteStream({ flush: true }) as Writable);
      // Awaited in finish(); a failure before then surfaces at the next write.
      done.catch(() => undefined);
      file.#gzip = { stream, done };
    }
    return file;
  }

  async write(text: string): Promise<void> {
    this.#chunks.push(text);
    this.#size += text.length;
    if (this.#size >= 64 * 1024) await this.#flush();
  }

  /** Writes out what is buffered and closes the temporary file (on disk, not yet in place). */
  async finish(): Promise<void> {
    const fh = this.#fh;
    if (fh === undefined) return;
    await this.#flush();
    this.#fh = undefined;
    if (this.#gzip !== undefined) {
      this.#gzip.stream.end();
      await this.#gzip.done;
      return;
    }
    await fh.sync();
    await fh.close();
  }

  /** Puts the file in place, replacing any previous version in one step. */
  async commit(): Promise<void> {
    await this.finish();
    await rename(this.#tmp, this.path);
  }

  /** Removes the temporary file; the previous version of `path`, if any, stays. */
  async abort(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    this.#gzip?.stream.destroy();
    await this.#gzip?.done.catch(() => undefined);
    await fh?.close().catch(() => undefined);
    await rm(this.#tmp, { force: true });
  }

  async #flush(): Promise<void> {
    if (this.#chunks.length === 0) return;
    const data = this.#chunks.join('');
    this.#chunks = [];
    this.#size = 0;
    const gzip = this.#gzip?.stream;
    if (gzip === undefined) await this.#fh!.write(data);
    else if (!gzip.write(data)) await once(gzip, 'drain');
  }
}

/** Writes a whole file atomically with mode 0600. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const file = await AtomicFile.create(path);
  try {
    await file.write(text);
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
}

/**
 * Reads an NDJSON file (gzipped when its name ends in `.gz`) line by line. A line that does not
 * parse is passed to `onBad` (a file cut short by a crash ends in one) and skipped.
 */
export async function* readNdjson<T>(
  path: string,
  onBad?: (lineNo: number, text: string) => void,
): AsyncGenerator<T> {
  const file = createReadStream(path);
  let input: NodeJS.ReadableStream = file;
  if (path.endsWith('.gz')) {
    const gunzip = createGunzip();
    file.on('error', (err) => gunzip.destroy(err));
    input = file.pipe(gunzip);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    try {
      yield JSON.parse(text) as T;
    } catch {
      onBad?.(n, text);
    }
  }
}
