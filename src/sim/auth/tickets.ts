/**
 * The Universal Login pages a ticket leads to (`/u/reset-password`, `/u/email-verification`), as
 * far as a rehearsal needs them: following an email-verification ticket verifies the address;
 * posting a new password to a password-change ticket sets it (and `last_password_reset`). A ticket
 * works once and until its `ttl_sec` runs out. Auth0 answers with HTML pages; these answer in
 * plain text, or redirect to the ticket's `result_url`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { hashPassword } from '../tenant/passwords.js';
import type { SimTenant, SimTicket } from '../tenant/tenant.js';

type Kind = NonNullable<SimTicket['kind']>;

/** The live ticket `id` names, or why it cannot be used. */
function findTicket(tenant: SimTenant, kind: Kind, id: unknown): SimTicket | string {
  if (typeof id !== 'string' || id === '') return 'The ticket is missing.';
  const ticket = tenant.tickets.find(
    (t) => (t.kind ?? 'password_change') === kind && new URL(t.ticket).searchParams.get('ticket') === id,
  );
  if (ticket === undefined) return 'The ticket is not valid.';
  if (ticket.used_at !== undefined) return 'This ticket was already used.';
  if (Date.parse(ticket.created_at) + ticket.ttl_sec * 1000 < Date.now()) return 'This ticket has expired.';
  return ticket;
}

function done(reply: FastifyReply, ticket: SimTicket, text: string): FastifyReply {
  if (ticket.result_url !== undefined) return reply.redirect(ticket.result_url, 302);
  return reply.type('text/plain; charset=utf-8').send(text);
}

const refuse = (reply: FastifyReply, why: string): FastifyReply =>
  reply.code(400).type('text/plain; charset=utf-8').send(why);

export async function ticketPagesRoutes(
  app: FastifyInstance,
  { tenant }: { tenant: SimTenant },
): Promise<void> {
  app.get<{ Querystring: { ticket?: string } }>('/u/email-verification', async (req, reply) => {
    const ticket = findTicket(tenant, 'email_verification', req.query.ticket);
    if (typeof ticket === 'string') return refuse(reply, ticket);
    const user = tenant.users.update(ticket.user_id, (u) => {
      if (u.email === ticket.email) u.email_verified = true;
      u.updated_at = new Date().toISOString();
    });
    if (user === undefined) return refuse(reply, 'The user does not exist.');
    ticket.used_at = new Date().toISOString();
    return done(reply, ticket, 'Your email address was successfully verified.');
  });

  app.post<{ Body: Record<string, unknown> | undefined }>('/u/reset-password', async (req, reply) => {
    const body = req.body ?? {};
    const ticket = findTicket(tenant, 'password_change', body.ticket);
    if (typeof ticket === 'string') return refuse(reply, ticket);
    const password = body.newPassword ?? body.password;
    if (typeof password !== 'string' || password === '') return refuse(reply, 'A new password is required.');
    const hash = await hashPassword(password, tenant.options.timing.bcryptCost);
    const user = tenant.users.update(ticket.user_id, (u) => {
      u.passwordHash = hash;
      delete u.customPasswordHash;
      const now = new Date().toISOString();
      u.last_password_reset = now;
      u.updated_at = now;
      if (ticket.mark_email_as_verified) u.email_verified = true;
    });
    if (user === undefined) return refuse(reply, 'The user does not exist.');
    ticket.used_at = new Date().toISOString();
    return done(reply, ticket, 'Password changed.');
  });
}
