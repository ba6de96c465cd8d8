/**
 * A run's folder, `<REPORTS_DIR>/<runId>/`, shared by every worker (one volume in compose):
 *
 * | path | holds |
 * | --- | --- |
 * | `run.json` | that the run was started, with its identity (no secrets): a run missing from Redis but present here was lost by Redis |
 * | `parts/batch-<n>.json.gz` | the outcome of batch n, per user, written as the batch ends |
 * | `parts/chunk-<c>.json.gz` | what the plan found between two batches (skipped, already migrated), per user |
 * | `work/` | the export and snapshot the plan reads |
 *
 * The report stage concatenates the parts into the per-user files; a completed run's parts and
 * work files are deleted then. Every file is 0600 in 0700 folders, written under a temporary name,
 * and a folder that is a symbolic link is refused.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import { FILE_MODE, REPORT_FILES, ensurePrivateDir, runDir, writeFileAtomic } from '../../report/files.js';
import type { RunSummary } from '../../report/types.js';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

/** `run.json`: what a run's folder says about it, whatever Redis holds. */
export interface RunMarker {
  runId: string;
  kind: 'import' | 'sweep' | 'relations';
  createdAt: number;
  [identity: string]: unknown;
}

export type PartName = `batch-${number}` | `chunk-${number}`;

/** A new file of user data: created here, never existing, never through a link. */
const CREATE_PRIVATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export class RunFiles {
  readonly reportsDir: string;

  constructor(reportsDir: string) {
    this.reportsDir = reportsDir;
  }

  dir(runId: string): string {
    return runDir(this.reportsDir, runId);
  }

  /** Where the run keeps its export and snapshot files until its report is written. */
  workDir(runId: string): string {
    return join(this.dir(runId), 'work');
  }

  /** Creates the work folder (0700, never through a symbolic link) and answers it. */
  async prepareWorkDir(runId: string): Promise<string> {
    this.dir(runId);
    return ensurePrivateDir(this.reportsDir, runId, 'work');
  }

  partsDir(runId: string): string {
    return join(this.dir(runId), 'parts');
  }

  /** Creates the run's folder (0700, never a symbolic link) and answers it. */
  async prepareRunDir(runId: string): Promise<string> {
    this.dir(runId);
    return ensurePrivateDir(this.reportsDir, runId);
  }

  async writeMarker(marker: RunMarker): Promise<void> {
    const dir = await this.prepareRunDir(marker.runId);
    await writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(marker, null, 2)}\n`);
  }

  async readMarker(runId: string): Promise<RunMarker | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(runId), 'run.json'), 'utf8')) as RunMarker;
    } catch {
      return undefined;
    }
  }

  /** The run's summary.json, when its report was written. */
  async readSummary(runId: string, dir = this.dir(runId)): Promise<RunSummary | undefined> {
    try {
      return JSON.parse(await readFile(join(dir, REPORT_FILES.summaryJson), 'utf8')) as RunSummary;
    } catch {
      return undefined;
    }
  }

  /**
   * Puts a part in place unless one is there already, and answers the part that is in place: the
   * first writer wins (a hard link cannot replace a file), so two workers that end the same batch
   * differently (a redelivery racing a give-up) agree on one outcome, and the counts recorded in
   * Redis are taken from that one.
   */
  async putPart<T>(runId: string, name: PartName, value: T): Promise<T> {
    this.dir(runId);
    const dir = await ensurePrivateDir(this.reportsDir, runId, 'parts');
    const path = join(dir, `${name}.json.gz`);
    const tmp = join(dir, `.${name}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tmp, CREATE_PRIVATE, FILE_MODE);
    try {
      await fh.chmod(FILE_MODE);
      await fh.writeFile(await gzip(Buffer.from(JSON.stringify(value), 'utf8')));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, path);
      return value;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return (await this.getPart<T>(runId, name))!;
      // A shared volume without hard links: the same rule, checked then renamed (a narrow race).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw err;
      const existing = await this.getPart<T>(runId, name);
      if (existing !== undefined) return existing;
      await rename(tmp, path);
      return value;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async getPart<T>(runId: string, name: PartName): Promise<T | undefined> {
    let blob: Buffer;
    try {
      blob = await readFile(join(this.partsDir(runId), `${name}.json.gz`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return JSON.parse((await gunzip(blob)).toString('utf8')) as T;
  }

  /**
   * Deletes the parts and the work files (the report holds what the parts held), unless the run's
   * folder is a symbolic link: nothing is deleted through one.
   */
  async removeUserData(runId: string): Promise<void> {
    const folder = await lstat(this.dir(runId)).catch(() => undefined);
    if (folder?.isDirectory() !== true) return;
    await rm(this.partsDir(runId), { recursive: true, force: true });
    await rm(this.workDir(runId), { recursive: true, force: true });
  }
}
