/**
 * Batch payloads at rest in Redis: gzip, then AES-256-GCM when `PAYLOAD_KEY` is set. The Redis key
 * is the additional authenticated data, so a blob copied under another run's or batch's key does
 * not decrypt. A staged batch is sealed as its import file's bytes followed by its users' JSON
 * ({@link encodeStagedBatch}), so the import file, already JSON, is neither escaped into a JSON
 * string nor parsed back.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import type { Config, Secret } from '../config.js';
import { MigrateError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BatchUser, StagedBatch } from './types.js';

// Off the event loop (libuv's pool), and a fast level: payloads are bounded and short-lived.
const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);
// Level 1: the plan stage seals every user once, and level 3 cost it half again as much CPU.
const GZIP_LEVEL = 1;

const PLAIN = 0x00;
const SEALED = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A staged payload that cannot be read back (wrong or missing PAYLOAD_KEY, damaged). Final. */
export class PayloadError extends MigrateError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, code: 'bad_payload', final: true });
  }
}

export class PayloadCodec {
  readonly #key: Buffer | undefined;

  /** `key` is `config.payloadKey` (64 hex digits once validated), or undefined for gzip only. */
  constructor(key: Secret | undefined) {
    this.#key = key === undefined ? undefined : Buffer.from(key.reveal(), 'hex');
  }

  get encrypts(): boolean {
    return this.#key !== undefined;
  }

  async encode(value: unknown, aad: string): Promise<Buffer> {
    return this.seal(Buffer.from(JSON.stringify(value), 'utf8'), aad);
  }

  async decode<T>(blob: Buffer, aad: string): Promise<T> {
    return JSON.parse((await this.open(blob, aad)).toString('utf8')) as T;
  }

  /** Bytes compressed, and encrypted under `aad` when a key is set. */
  async seal(plain: Buffer, aad: string): Promise<Buffer> {
    const zipped = await gzip(plain, { level: GZIP_LEVEL });
    if (this.#key === undefined) return Buffer.concat([Buffer.of(PLAIN), zipped]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(zipped), cipher.final()]);
    return Buffer.concat([Buffer.of(SEALED), iv, cipher.getAuthTag(), body]);
  }

  /** The bytes {@link seal} was given; {@link PayloadError} when they cannot be had. */
  async open(blob: Buffer, aad: string): Promise<Buffer> {
    let zipped: Buffer;
    if (blob[0] === PLAIN) {
      zipped = blob.subarray(1);
    } else if (blob[0] === SEALED) {
      if (this.#key === undefined) {
        throw new PayloadError(`${aad} is encrypted but PAYLOAD_KEY is not set`, {
          hint: 'Run every worker with the PAYLOAD_KEY the run was started with.',
        });
      }
      const iv = blob.subarray(1, 1 + IV_BYTES);
      const tag = blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        zipped = Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch (err) {
        throw new PayloadError(`${aad} does not decrypt with this PAYLOAD_KEY`, {
          hint: 'Run every worker with the PAYLOAD_KEY the run was started with.',
          cause: err,
        });
      }
    } else {
      throw new PayloadError(`${aad} is not a batch payload written by auth0-migrate`);
    }
    return gunzip(zipped);
  }
}

/** First byte of a staged batch's envelope; a batch sealed as one JSON object starts with `{`. */
const ENVELOPE = 0x02;

/** A staged batch sealed: `0x02`, the import file's length (4 bytes), the import file, the users' JSON. */
export function encodeStagedBatch(codec: PayloadCodec, staged: StagedBatch, aad: string): Promise<Buffer> {
  const head = Buffer.allocUnsafe(5);
  head[0] = ENVELOPE;
  head.writeUInt32BE(staged.payload.length, 1);
  return codec.seal(
    Buffer.concat([head, staged.payload, Buffer.from(JSON.stringify(staged.users), 'utf8')]),
    aad,
  );
}

export async function decodeStagedBatch(
  codec: PayloadCodec,
  blob: Buffer,
  aad: string,
): Promise<StagedBatch> {
  const plain = await codec.open(blob, aad);
  if (plain[0] !== ENVELOPE) {
    // Staged by an earlier version as one JSON object, its import file a string.
    const old = JSON.parse(plain.toString('utf8')) as { payload: string; users: BatchUser[] };
    return { payload: Buffer.from(old.payload, 'utf8'), users: old.users };
  }
  const end = 5 + plain.readUInt32BE(1);
  if (end > plain.length) throw new PayloadError(`${aad} is cut short`);
  return {
    payload: plain.subarray(5, end),
    users: JSON.parse(plain.toString('utf8', end)) as BatchUser[],
  };
}

/**
 * Said once by each command that stages users (sweep, import, worker) when they would sit in Redis
 * unencrypted: the operator may not know that Redis holds their names and emails meanwhile.
 */
export function warnIfPayloadsUnencrypted(config: Pick<Config, 'payloadKey'>, logger: Logger): void {
  if (config.payloadKey !== undefined) return;
  logger.warn(
    "PAYLOAD_KEY is not set: while a run lasts, its users' names and emails (and metadata) sit in Redis as plain gzip. Set PAYLOAD_KEY to 32 random bytes (`openssl rand -hex 32`), the same for every worker, to encrypt them.",
  );
}
