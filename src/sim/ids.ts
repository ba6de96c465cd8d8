import { randomBytes } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(length: number): string {
  // One draw of random bytes per id, not one per character: seeding creates thousands of ids.
  // Bytes from 248 up are skipped so that every character is equally likely (248 = 4 × 62).
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248) out += ALNUM[b % ALNUM.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Auth0 job ids: `job_` + 16 alphanumerics. */
export const newJobId = (): string => `job_${randomAlnum(16)}`;

/** Auth0 connection ids: `con_` + 16 alphanumerics. */
export const newConnectionId = (): string => `con_${randomAlnum(16)}`;

/** Auth0 role ids: `rol_` + 16 alphanumerics. */
export const newRoleId = (): string => `rol_${randomAlnum(16)}`;

/** Resource server (API) ids: 24 hex digits. */
export const newResourceServerId = (): string => randomBytes(12).toString('hex');

/** A MongoDB-ObjectId-like 24 hex id, as Auth0 gives database users without a supplied id. */
export function newObjectIdHex(): string {
  const seconds = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  return seconds + randomBytes(8).toString('hex');
}

export const JOB_ID_PATTERN = /^job_[A-Za-z0-9]{16}$/;
export const CONNECTION_ID_PATTERN = /^con_[A-Za-z0-9]{16}$/;

/** Auth0 organization ids: `org_` + 16 alphanumerics. */
export const newOrganizationId = (): string => `org_${randomAlnum(16)}`;
