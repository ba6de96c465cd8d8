/**
 * Password checks of the simulated user store: bcrypt as Auth0 stores it, Auth0's
 * `custom_password_hash` algorithms where Node's crypto has them, and generated users whose
 * bcrypt hash is made on first use (hashing a million passwords at seed time would take hours).
 */
import { createHash, createHmac, pbkdf2Sync, scryptSync, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { generatedPassword } from './generate.js';
import type { SimUser } from './users.js';

type Enc = BufferEncoding;

const decode = (value: string, encoding: string | undefined): Buffer =>
  Buffer.from(value, (encoding ?? 'utf8') as Enc);

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `password` matches an Auth0 `custom_password_hash` object; false for algorithms not simulated. */
export async function verifyCustomHash(spec: Record<string, unknown>, password: string): Promise<boolean> {
  const algorithm = String(spec.algorithm);
  const hash = (spec.hash ?? {}) as {
    value?: string;
    encoding?: string;
    digest?: string;
    key?: { value: string; encoding?: string };
  };
  const salt = spec.salt as { value: string; encoding?: string; position?: string } | undefined;
  const pwEncoding = ((spec.password as { encoding?: string } | undefined)?.encoding ?? 'utf8') as Enc;
  const pw = Buffer.from(password, pwEncoding);
  const value = hash.value ?? '';
  try {
    switch (algorithm) {
      case 'bcrypt':
        return await bcrypt.compare(password, value);
      case 'md4':
      case 'md5':
      case 'sha1':
      case 'sha256':
      case 'sha512': {
        const saltBuf = salt ? decode(salt.value, salt.encoding) : Buffer.alloc(0);
        const input =
          salt?.position === 'suffix' ? Buffer.concat([pw, saltBuf]) : Buffer.concat([saltBuf, pw]);
        return same(createHash(algorithm).update(input).digest(), decode(value, hash.encoding ?? 'hex'));
      }
      case 'hmac': {
        const key = hash.key ? decode(hash.key.value, hash.key.encoding) : Buffer.alloc(0);
        const saltBuf = salt ? decode(salt.value, salt.encoding) : Buffer.alloc(0);
        const input =
          salt?.position === 'suffix' ? Buffer.concat([pw, saltBuf]) : Buffer.concat([saltBuf, pw]);
        const mac = createHmac(hash.digest ?? 'sha256', key)
          .update(input)
          .digest();
        return same(mac, decode(value, hash.encoding ?? 'hex'));
      }
      case 'pbkdf2': {
        // A deliberate copy of src/pipeline/password-hashes.ts's format: the simulator stays independent.
        const m = /^\$pbkdf2-([a-z0-9]+)\$i=(\d+),l=(\d+)\$([^$]+)\$([^$]+)$/.exec(value);
        if (!m) return false;
        const derived = pbkdf2Sync(pw, Buffer.from(m[4]!, 'base64'), Number(m[2]), Number(m[3]), m[1]!);
        return same(derived, Buffer.from(m[5]!, 'base64'));
      }
      case 'scrypt': {
        const saltBuf = salt ? decode(salt.value, salt.encoding) : Buffer.alloc(0);
        const keylen = Number(spec.keylen);
        const derived = scryptSync(pw, saltBuf, keylen, {
          N: Number(spec.cost ?? 16384),
          r: Number(spec.blockSize ?? 8),
          p: Number(spec.parallelization ?? 1),
          maxmem: 256 * 1024 * 1024,
        });
        return same(derived, decode(value, hash.encoding ?? 'hex'));
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * Checks a login password. A generated user gets its bcrypt hash on first use (the caller stores
 * the returned `newHash`); a user imported with `custom_password_hash` is re-hashed with bcrypt
 * after a successful login, as Auth0 does.
 */
export async function checkPassword(
  user: Pick<SimUser, 'passwordHash' | 'customPasswordHash' | 'generatedIndex' | 'isSocial'>,
  password: string,
  bcryptCost: number,
): Promise<{ ok: boolean; newHash?: string }> {
  if (user.passwordHash !== undefined) return { ok: await bcrypt.compare(password, user.passwordHash) };
  if (user.customPasswordHash !== undefined) {
    const ok = await verifyCustomHash(user.customPasswordHash, password);
    return ok ? { ok, newHash: await bcrypt.hash(password, bcryptCost) } : { ok };
  }
  if (user.generatedIndex !== undefined && !user.isSocial) {
    const newHash = await bcrypt.hash(generatedPassword(user.generatedIndex), bcryptCost);
    return { ok: await bcrypt.compare(password, newHash), newHash };
  }
  return { ok: false };
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}
