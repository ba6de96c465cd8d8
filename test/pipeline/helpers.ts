import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
export const AUTH0_DOCS = new URL('../fixtures/auth0-docs/', import.meta.url).pathname;
export const CONNECTION = 'Username-Password-Authentication';

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A temporary directory removed by `cleanup()`. */
export function tempDir(): {
  dir: string;
  file(name: string, content: string | Buffer): string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-test-'));
  return {
    dir,
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function gzip(text: string | Buffer): Buffer {
  return gzipSync(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}

/** The bytes as a stream cut into chunks of the given sizes (the last chunk takes the rest). */
export function chunked(bytes: Buffer, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= bytes.length) break;
    parts.push(bytes.subarray(at, at + Math.max(1, size)));
    at += Math.max(1, size);
  }
  if (at < bytes.length) parts.push(bytes.subarray(at));
  return Readable.from(parts, { objectMode: false });
}

/** An export line for a database user of CONNECTION. */
export function dbUser(
  id: string,
  email: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    user_id: `auth0|${id}`,
    email,
    email_verified: true,
    identities: [{ connection: CONNECTION, provider: 'auth0', user_id: id, isSocial: false }],
    created_at: '2023-01-01T00:00:00.000Z',
    ...extra,
  };
}

export function ndjson(records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
