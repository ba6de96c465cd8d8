/**
 * The jobs a tenant holds (users-imports, users-exports, verification emails), as records: what GET /jobs/{id} and
 * /errors answer from. The engine (engine/job-engine.ts) creates and advances them.
 */

export type SimJobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'expired';

/** One entry of an import job's `/errors`. */
export interface ImportUserError {
  /** The user as supplied, hash values replaced by `*****`. */
  user: unknown;
  errors: Array<{ code: string; message: string; path?: string }>;
}

export interface ImportCounts {
  inserted: number;
  updated: number;
  failed: number;
}

/** A field of a users-export job (`fields` of POST /jobs/users-exports). */
export interface ExportField {
  name: string;
  export_as?: string;
}

interface JobCommon {
  id: string;
  status: SimJobStatus;
  createdAtMs: number;
  created_at: string;
  /** How long this job stays pending (the tier's delay, varied per job when timing varies). */
  pendingMs: number;
  /** This job's speed as a factor of the tier's (1 unless timing varies). */
  speed: number;
  startedAtMs?: number;
  /** When it completed or failed. */
  endedAtMs?: number;
  connection_id?: string;
  connection?: string;
  total: number;
  processed: number;
  status_details?: string;
  summary?: { failed: number; updated: number; inserted: number; total: number };
  /** Set when the job failed as a whole: what `/errors` then answers. */
  wholeFailure?: 'none' | 'job';
}

export interface ImportJob extends JobCommon {
  type: 'users_import';
  external_id?: string;
  upsert: boolean;
  send_completion_email: boolean;
  file: Buffer | undefined;
  users: unknown[] | undefined;
  errors: ImportUserError[];
  counts: ImportCounts;
}

export interface ExportJob extends JobCommon {
  type: 'users_export';
  format: 'json' | 'csv';
  limit?: number;
  fields: ExportField[];
  fileName: string;
  filePath?: string;
}

/** POST /jobs/verification-email: the email goes to the tenant's outbox when the job runs. */
export interface VerificationEmailJob extends JobCommon {
  type: 'verification_email';
  user_id: string;
  client_id?: string;
  /** The identity whose email is to be verified (a linked one), when given. */
  identity?: { user_id: string; provider: string };
}

export type SimJob = ImportJob | ExportJob | VerificationEmailJob;
