/** HS256 JSON Web Tokens, enough for access tokens and ID tokens the simulator issues and checks. */
import { createHmac, timingSafeEqual } from 'node:crypto';

const b64url = (buf: Buffer | string): string => Buffer.from(buf).toString('base64url');

export function signJwt(claims: Record<string, unknown>, key: Buffer | string, kid?: string): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}) }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', key).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${sig}`;
}

/** The claims of a token signed with `key`, or undefined when the token is malformed or forged. */
export function verifyJwt(token: string, key: Buffer | string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const expected = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
