/**
 * Records that flow through the pipeline stages. Every input record leaves the pipeline as exactly
 * one of: an {@link ImportCandidate} (later placed in a batch), {@link AlreadyMigrated}, or
 * {@link Skipped}.
 */

/** A user as it appears in an Auth0 users export (one NDJSON line), keys as exported. */
export type ExportRecord = Record<string, unknown>;

/** Where a record came from, for messages and reports. `line` is 1-based (NDJSON line or array index + 1). */
export interface RecordSource {
  line: number;
  /** Old tenant user id as exported, e.g. `auth0|abc`, when known. */
  userId?: string;
  email?: string;
  /** The old tenant shows the user enrolled in MFA (the export's `multifactor`). */
  mfaEnrolled?: true;
}

/** A user in Auth0's bulk-import format (import-user-schema.json). */
export interface ImportUser {
  email: string;
  email_verified?: boolean;
  user_id?: string;
  username?: string;
  given_name?: string;
  family_name?: string;
  name?: string;
  nickname?: string;
  picture?: string;
  blocked?: boolean;
  phone_number?: string;
  phone_verified?: boolean;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  password_hash?: string;
  custom_password_hash?: Record<string, unknown>;
  mfa_factors?: Array<Record<string, unknown>>;
}

export type SkipReason =
  | 'not_database_user'
  | 'no_email'
  | 'invalid_email'
  | 'duplicate_in_export'
  | 'malformed_line'
  | 'schema_invalid'
  | 'blocked_excluded'
  | 'too_deep'
  | 'invalid_metadata_key'
  | 'profile_too_large'
  | 'mfa_factors_invalid';

export interface ImportCandidate {
  kind: 'import';
  source: RecordSource;
  user: ImportUser;
  /** The record as read, kept so a failed user can be written to retry.ndjson in export format. */
  original: ExportRecord;
  /** True when a password hash was merged in; false means the user needs a password reset. */
  hasPassword: boolean;
  /** True when MFA factors were merged in from the MFA file. */
  hasMfaFactors?: boolean;
  /** Notes for the report, e.g. reserved app_metadata keys that were dropped. */
  notes?: string[];
}

export interface AlreadyMigrated {
  kind: 'already_migrated';
  source: RecordSource;
  matchedBy: 'user_id' | 'email';
  /** Enrolled in the old tenant, and the new tenant's snapshot shows no enrolment: must re-enrol. */
  mfaReenrolment?: true;
}

export interface Skipped {
  kind: 'skipped';
  source: RecordSource;
  reason: SkipReason;
  /** Human-readable detail: the parser's message, the schema path, the connection name. Never a hash. */
  detail: string;
  /** The record as read, when there was one (not for malformed lines). */
  original?: ExportRecord;
}

export type PipelineRecord = ImportCandidate | AlreadyMigrated | Skipped;

/** One import file, serialised exactly as it will be sent. */
export interface Batch {
  /** Always `'batch'` on batches the pipeline makes; optional so older producers still type-check. */
  kind?: 'batch';
  /** 0-based, in the order batches were produced. */
  index: number;
  /** The JSON array, as bytes: what goes into the multipart `users` part. */
  payload: Buffer;
  /** The users, in the order they appear in `payload`. */
  users: ImportCandidate[];
}

/** What the composed pipeline yields, in input order (a batch where its last user was read). */
export type PipelineOutput = Batch | AlreadyMigrated | Skipped;

/** Outcome counts; `total = imported + alreadyMigrated + skipped` once the input is read. */
export interface OutcomeCounts {
  /** Input records: parsed records plus malformed lines. */
  total: number;
  /** Users placed in batches. */
  imported: number;
  batches: number;
  alreadyMigrated: number;
  alreadyMigratedBy: Partial<Record<AlreadyMigrated['matchedBy'], number>>;
  skipped: number;
  skippedBy: Partial<Record<SkipReason, number>>;
  /** Users placed in batches without a password hash (the password-reset list). */
  withoutPassword: number;
}
