/**
 * `/{tenant}/__exports/{jobId}/{file}`: the signed links of completed users-exports, answered as
 * the CDN in front of Auth0's export bucket would (XML errors, links that expire).
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { JobEngine } from './engine/job-engine.js';
import type { SimTenant } from './tenant/tenant.js';

const CDN_DENIED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>';
const CDN_EXPIRED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';

export async function exportDownloadRoutes(
  app: FastifyInstance,
  { tenant, engine }: { tenant: SimTenant; engine: JobEngine },
): Promise<void> {
  app.get<{ Params: { jobId: string; file: string }; Querystring: { Signature?: string } }>(
    '/__exports/:jobId/:file',
    async (req, reply) => {
      const found = engine.resolveLink(req.params.jobId, req.query.Signature);
      if (found === 'denied' || found === 'expired') {
        return reply
          .code(403)
          .type('text/xml')
          .send(found === 'expired' ? CDN_EXPIRED : CDN_DENIED);
      }
      tenant.stats.exportDownloads++;
      return reply.type('application/gzip').send(createReadStream(found.path));
    },
  );
}
