import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants, createReadStream } from 'node:fs';
import { lstat, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
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
  mfaReenrolment: 'mfa-reenrolment.ndjson',
  /** `resets --verify-email`: who would get a verification email (dry run), and what was sent. */
  verifyEmailPlan: 'verify-email-plan.ndjson',
  verifyEmail: 'verify-email.ndjson',
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

/**
 * `base/part/…`, each part a folder created owner-only (0700, also when it already existed) and
 * never a symbolic link: a link there would send users' data, and the mode change, to wherever it
 * points. `base` itself (`REPORTS_DIR`) is the operator's and may be a link. Returns the path.
 */
export async function ensurePrivateDir(base: string, ...parts: string[]): Promise<string> {
  await mkdir(base, { recursive: true, mode: DIR_MODE });
  let dir = base;
  for (const part of parts) {
    dir = join(dir, part);
    try {
      await mkdir(dir, { mode: DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let fh: FileHandle;
    try {
      // O_NOFOLLOW: the check and the chmod are on the folder itself, whatever replaces it meanwhile.
      fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
      // Linux answers a link with ENOTDIR when O_DIRECTORY is given too: tell the two apart.
      await refuseSymlink(dir);
      throw new InputError(`${dir} is not a folder.`, { hint: 'Move it away and run again.' });
    }
    try {
      await fh.chmod(DIR_MODE);
    } finally {
      await fh.close();
    }
  }
  return dir;
}

/** Throws when `path` is a symbolic link (so nothing is written where it points); a missing path is fine. */
export async function refuseSymlink(path: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st?.isSymbolicLink() === true) throw symlinkRefused(path);
}

function symlinkRefused(path: string): InputError {
  return new InputError(
    `${path} is a symbolic link: files holding users' data are never written through one.`,
    { hint: 'Remove the link (check who made it and where it points), then run again.' },
  );
}

/** Flags for a new file of user data: created here, never existing, never through a link. */
const CREATE_PRIVATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

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
    await refuseSymlink(path);
    const file = new AtomicFile(path);
    const fh = await open(file.#tmp, CREATE_PRIVATE, FILE_MODE);
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

  /** Puts the file in place, replacing any previous version in one step (a link there is refused). */
  async commit(): Promise<void> {
    await this.finish();
    await refuseSymlink(this.path);
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

/**
 * Opens a progress file for appending (0600, never through a link), ending a line cut short by a
 * crash first, so the next line starts on its own.
 */
export async function openPrivateAppend(path: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(
      path,
      constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      FILE_MODE,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') await refuseSymlink(path);
    throw err;
  }
  await fh.chmod(FILE_MODE);
  const { size } = await fh.stat();
  if (size > 0) {
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] !== 0x0a) await fh.write('\n');
  }
  return fh;
}
