/**
 * Auth0's custom-database script runtime, simulated: runs a script's text in a `node:vm` sandbox
 * with the globals Auth0 provides. The simulator's tenants call it for connections with custom
 * scripts; the lazy-migration tests call it to run the built scripts.
 */

export interface ScriptContext {
  request?: { ip?: string; userAgent?: string };
  [key: string]: unknown;
}

export type ScriptOutcome =
  | { ok: true; profile: Record<string, unknown> | null }
  | { ok: false; error: { name: string; message: string } };

export interface RunLoginScript {
  script: string;
  configuration: Record<string, string>;
  username: string;
  password: string;
  context?: ScriptContext;
  /** @defaultValue 20000 (Auth0's limit) */
  timeoutMs?: number;
}

export async function runLoginScript(_options: RunLoginScript): Promise<ScriptOutcome> {
  throw new Error('runLoginScript is not available yet');
}
