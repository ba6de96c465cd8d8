import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';

/** Report files hold personal data: owner read/write only, folders owner only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** The files of a run's report folder, relative to it. */
export const REPORT_FILES = {
  summaryJson: 'summary.json',
  summaryMd: 'summary.md',
  summaryHtml: 'summary.html',
  failures: 'failures.ndjson',
  skipped: 'skipped.ndjson',
  retry: 'retry.ndjson',
  passwordReset: 'password-reset.ndjson',
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

/**
 * Creates the folder (and parents) and makes sure it is owner-only even when it already existed.
 * A folder that is a symbolic link is refused: user data would land wherever it points, and the
 * mode change would apply to its target.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const st = await lstat(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new InputError(
      `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}: refusing to write user data through it.`,
      { hint: 'Remove it (or point REPORTS_DIR elsewhere) and resume the run.' },
    );
  }
  await chmod(dir, DIR_MODE);
}

/**
 * A file written under a temporary name and renamed into place on `commit()`, so a reader (or a
 * crash) never sees half of it. Writes are buffered and flushed in chunks.
 */
export class AtomicFile {
  readonly path: string;
  readonly #tmp: string;
  #fh: FileHandle | undefined;
  #chunks: string[] = [];
  #size = 0;

  private constructor(path: string) {
    this.path = path;
    this.#tmp = join(
      dirname(path),
      `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
    );
  }

  static async create(path: string): Promise<AtomicFile> {
    const file = new AtomicFile(path);
    file.#fh = await open(file.#tmp, 'wx', FILE_MODE);
    // The mode given to open() is reduced by the umask; set it exactly.
    await file.#fh.chmod(FILE_MODE);
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
    await fh?.close().catch(() => undefined);
    await rm(this.#tmp, { force: true });
  }

  async #flush(): Promise<void> {
    if (this.#chunks.length === 0) return;
    const data = this.#chunks.join('');
    this.#chunks = [];
    this.#size = 0;
    await this.#fh!.write(data);
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
 * Reads an NDJSON file line by line. A line that does not parse is passed to `onBad` (a file cut
 * short by a crash ends in one) and skipped.
 */
export async function* readNdjson<T>(
  path: string,
  onBad?: (lineNo: number, text: string) => void,
): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
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
