/**
 * Jobs of a simulated tenant (Management API v2): /jobs/users-imports, /jobs/users-exports,
 * /jobs/verification-email, /jobs/{id} and /jobs/{id}/errors. The engine (engine/job-engine.ts)
 * runs them.
 */
import type { FastifyInstance } from 'fastify';
import type { JobEngine } from '../engine/job-engine.js';
import { JSON_UTF8, sendManagementError, sendNoContent } from '../http.js';
import { CONNECTION_ID_PATTERN, JOB_ID_PATTERN } from '../ids.js';
import { payloadError } from '../schemas.js';
import type { ExportField } from '../tenant/jobs.js';
import type { SimTenant } from '../tenant/tenant.js';
import { addressToVerify } from '../tenant/users.js';

/** Auth0 refuses import requests above this many bytes (the whole multipart body). */
export const MAX_IMPORT_BYTES = 512_000;

const ACTIVE_IMPORTS_MESSAGE =
  'There are 2 active import users jobs, please wait until some of them are finished and try again';

function formBool(v: ReturnType<FormData['get']>, fallback: boolean): boolean | 'invalid' {
  if (v === null) return fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return 'invalid';
}

export async function jobsRoutes(
  api: FastifyInstance,
  { tenant, engine }: { tenant: SimTenant; engine: JobEngine },
): Promise<void> {
  const invalid = (message: string) => `Payload validation error: '${message}'.`;

  api.post('/jobs/users-imports', { config: { scopes: ['create:users'] } }, async (req, reply) => {
    const bad = (message: string, errorCode = 'invalid_body') =>
      sendManagementError(reply, 400, message, errorCode);
    const contentType = req.headers['content-type'] ?? '';
    if (!Buffer.isBuffer(req.body) || !contentType.toLowerCase().startsWith('multipart/form-data')) {
      return bad(invalid('Invalid multipart payload format'));
    }
    let form: FormData;
    try {
      form = await new Response(req.body, { headers: { 'content-type': contentType } }).formData();
    } catch {
      return bad(invalid('Invalid multipart payload format'));
    }
    const usersPart = form.get('users');
    if (usersPart === null) return bad("Must provide 'users' file as multipart part.");
    const connectionId = form.get('connection_id');
    if (connectionId === null) return bad("Must provide 'connection_id' as multipart part.");
    if (typeof connectionId !== 'string' || !CONNECTION_ID_PATTERN.test(connectionId)) {
      return bad(
        "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.",
      );
    }
    const upsert = formBool(form.get('upsert'), false);
    if (upsert === 'invalid') {
      return bad(
        "Payload validation error: 'Expected type boolean but found type string' on property upsert.",
      );
    }
    const sendCompletionEmail = formBool(form.get('send_completion_email'), true);
    if (sendCompletionEmail === 'invalid') {
      return bad(
        "Payload validation error: 'Expected type boolean but found type string' on property send_completion_email.",
      );
    }
    const externalId = form.get('external_id');
    const file =
      typeof usersPart === 'string'
        ? Buffer.from(usersPart, 'utf8')
        : Buffer.from(await usersPart.arrayBuffer());
    if (file.length === 0) return bad('Users file must not be empty.');
    const connection = tenant.connectionById(connectionId);
    if (connection === undefined) return bad('The connection does not exist.', 'inexistent_connection');
    if (connection.strategy !== 'auth0') return bad('Connection must be a database connection.');
    if (connection.options.enabledDatabaseCustomization === true && connection.options.import_mode !== true) {
      return bad('Custom Database Connections without import mode are not allowed.');
    }
    if (engine.activeImports() >= 2) {
      tenant.stats.importJobsRejected++;
      return sendManagementError(reply, 429, ACTIVE_IMPORTS_MESSAGE);
    }
    const job = engine.createImport(connection, file, {
      upsert,
      sendCompletionEmail,
      ...(typeof externalId === 'string' && externalId !== '' ? { externalId } : {}),
    });
    return reply.code(202).type(JSON_UTF8).send(engine.importCreatedJson(job));
  });

  api.post('/jobs/users-exports', { config: { scopes: ['read:users'] } }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    // Form-encoded bodies carry strings; the OAS allows that encoding too.
    if (typeof body.limit === 'string' && /^\d+$/.test(body.limit)) body.limit = Number(body.limit);
    const problem = payloadError('CreateExportUsersRequestContent', body);
    if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
    let connection;
    if (typeof body.connection_id === 'string') {
      connection = tenant.connectionById(body.connection_id);
      if (connection === undefined) {
        return sendManagementError(reply, 400, 'The connection does not exist.', 'inexistent_connection');
      }
    }
    const format = (body.format as 'json' | 'csv' | undefined) ?? 'csv';
    const fields = body.fields as ExportField[] | undefined;
    if (format === 'csv' && fields !== undefined) {
      if (fields.length > 30) {
        return sendManagementError(
          reply,
          400,
          'Payload validation error: a CSV export can have at most 30 fields.',
          'invalid_body',
        );
      }
      const whole = fields.find((f) => f.name === 'app_metadata' || f.name === 'user_metadata');
      if (whole !== undefined) {
        return sendManagementError(
          reply,
          400,
          `Payload validation error: a CSV export cannot include ${whole.name} as a whole; name its fields (${whole.name}.x).`,
          'invalid_body',
        );
      }
    }
    const job = engine.createExport(connection, {
      format,
      ...(typeof body.limit === 'number' ? { limit: body.limit } : {}),
      ...(fields !== undefined ? { fields } : {}),
    });
    return reply.code(200).type(JSON_UTF8).send(engine.toJson(job));
  });

  // Recorded (go-auth0's TestJobManager_VerifyEmail): 201 {type, status: pending, created_at, id}.
  api.post('/jobs/verification-email', { config: { scopes: ['update:users'] } }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const problem = payloadError('CreateVerificationEmailRequestContent', body);
    if (problem !== undefined) return sendManagementError(reply, 400, problem, 'invalid_body');
    // The OAS lists no 404 here: an unknown user is one more 400.
    const user = tenant.users.get(body.user_id as string);
    if (user === undefined)
      return sendManagementError(reply, 400, 'The user does not exist.', 'invalid_body');
    const identity = body.identity as { user_id: string; provider: string } | undefined;
    const target = addressToVerify(user, identity);
    if ('problem' in target) return sendManagementError(reply, 400, target.problem, 'invalid_body');
    if (typeof body.client_id === 'string' && !tenant.clients.has(body.client_id)) {
      return sendManagementError(reply, 400, 'The client does not exist', 'invalid_body');
    }
    const job = engine.createVerificationEmail(user, {
      ...(typeof body.client_id === 'string' ? { clientId: body.client_id } : {}),
      ...(identity !== undefined
        ? { identity: { user_id: identity.user_id, provider: identity.provider } }
        : {}),
    });
    return reply.code(201).type(JSON_UTF8).send(engine.toJson(job));
  });

  const badJobId = (id: string) =>
    JOB_ID_PATTERN.test(id)
      ? undefined
      : "Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{16}$' on property id.";

  api.get<{ Params: { id: string } }>(
    '/jobs/:id',
    { config: { scopes: ['create:users', 'read:users'] } },
    async (req, reply) => {
      const bad = badJobId(req.params.id);
      if (bad !== undefined) return sendManagementError(reply, 400, bad, 'invalid_uri');
      const job = engine.get(req.params.id);
      if (job === undefined) return sendManagementError(reply, 404, 'Job not found.', 'inexistent_job');
      return reply.type(JSON_UTF8).send(engine.toJson(job));
    },
  );

  api.get<{ Params: { id: string } }>(
    '/jobs/:id/errors',
    { config: { scopes: ['create:users', 'read:users'] } },
    async (req, reply) => {
      const bad = badJobId(req.params.id);
      if (bad !== undefined) return sendManagementError(reply, 400, bad, 'invalid_uri');
      const job = engine.get(req.params.id);
      if (job === undefined)
        return sendManagementError(reply, 404, 'The job does not exist', 'inexistent_job');
      const answer = engine.errors(job);
      if (answer.status === 204) return sendNoContent(reply);
      // Recorded traffic shows this endpoint without the charset parameter.
      return reply
        .code(200)
        .header('content-type', 'application/json')
        .send(Buffer.from(JSON.stringify(answer.body)));
    },
  );
}
