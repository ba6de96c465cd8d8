import { describe, expect, it } from 'vitest';
import { IDENTITIES_SOURCE, linksFamily, linksOf } from '../../src/relations/links.js';
import { familyOfKind } from '../../src/relations/registry.js';
import { countOutcome, unbalanced, type PlanEntry, type RelationsCounts } from '../../src/relations/types.js';
import { DEFAULT_RELATION_OPTIONS } from '../../src/relations/types.js';
import { collect, items, memoryInput } from './memory-input.js';

const DB = 'Username-Password-Authentication';
const db = (id: string) => ({ provider: 'auth0', user_id: id, connection: DB, isSocial: false });
const google = (id: string) => ({
  provider: 'google-oauth2',
  user_id: id,
  connection: 'google-oauth2',
  isSocial: true,
});
const okta = (id: string) => ({ provider: 'okta', user_id: id, connection: 'corp', isSocial: false });

// Old tenant: Ada (database) linked her Google login; Grace (Google) linked a database account;
// Alan (database) linked Google and an enterprise login; Edsger has one identity.
const OLD = items([
  { user_id: 'auth0|ada', identities: [db('ada'), google('111')] },
  { user_id: 'google-oauth2|222', identities: [google('222'), db('grace')] },
  { user_id: 'auth0|alan', identities: [db('alan'), google('333'), okta('00u9')] },
  { user_id: 'auth0|edsger', identities: [db('edsger')] },
  { user_id: 'auth0|barbara', identities: [db('barbara'), google('444')] },
]);

function plan(newUsers: Array<Record<string, unknown>>, alsoInNew: string[] = []) {
  const input = memoryInput(
    { old: { [IDENTITIES_SOURCE]: OLD }, new: { [IDENTITIES_SOURCE]: items(newUsers) } },
    alsoInNew,
  );
  return collect(linksFamily.diff(input, DEFAULT_RELATION_OPTIONS));
}

const settled = (entries: PlanEntry[], outcome: string) =>
  entries.flatMap((e) => (e.type === 'settled' && e.settled.outcome === outcome ? [e.settled] : []));
const calls = (entries: PlanEntry[]) => entries.flatMap((e) => (e.type === 'call' ? [e.call] : []));

function tally(entries: PlanEntry[]): RelationsCounts {
  const c: RelationsCounts = {};
  for (const e of entries) {
    if (e.type === 'call') countOutcome(c, e.call.kind, 'added', e.call.count);
    if (e.type === 'settled') countOutcome(c, e.settled.kind, e.settled.outcome, 1, e.settled.code);
  }
  return c;
}

describe('links family', () => {
  it('reads the identities beyond the first as links', () => {
    expect(linksOf(OLD[2]!.item)).toEqual([
      {
        primary: 'auth0|alan',
        provider: 'google-oauth2',
        userId: '333',
        connection: 'google-oauth2',
        onLogin: true,
      },
      { primary: 'auth0|alan', provider: 'okta', userId: '00u9', connection: 'corp', onLogin: true },
    ]);
    expect(linksOf(OLD[1]!.item)[0]).toMatchObject({
      primary: 'google-oauth2|222',
      provider: 'auth0',
      userId: 'grace',
      onLogin: false,
    });
    expect(linksOf(OLD[3]!.item)).toEqual([]);
    expect(familyOfKind('links')).toBe(linksFamily);
  });

  it('right after the sweep: database users are there, social ones have not logged in: every link pending', async () => {
    const entries = await plan([
      { user_id: 'auth0|ada', identities: [db('ada')] },
      { user_id: 'auth0|grace', identities: [db('grace')] },
      { user_id: 'auth0|alan', identities: [db('alan')] },
      { user_id: 'auth0|edsger', identities: [db('edsger')] },
      { user_id: 'auth0|barbara', identities: [db('barbara')] },
    ]);
    expect(calls(entries)).toEqual([]);
    const pending = settled(entries, 'pending_user');
    expect(pending).toHaveLength(5);
    expect(pending.map((p) => p.detail)).toEqual([
      'link of google-oauth2|111: google-oauth2|111 has not logged in to the new tenant yet',
      'link of auth0|grace: google-oauth2|222 has not logged in to the new tenant yet',
      'link of google-oauth2|333: google-oauth2|333 has not logged in to the new tenant yet',
      'link of okta|00u9: okta|00u9 has not logged in to the new tenant yet',
      'link of google-oauth2|444: google-oauth2|444 has not logged in to the new tenant yet',
    ]);
    const c = tally(entries);
    expect(c.links).toMatchObject({ total: 5, added: 0, pending_user: 5 });
    expect(unbalanced(c)).toEqual([]);
  });

  it('after some first logins: links whose both sides exist are called, the others stay pending; present ones are not sent again', async () => {
    const entries = await plan(
      [
        // Ada's link was made by an earlier run; Barbara's Google account is linked to someone else.
        { user_id: 'auth0|ada', identities: [db('ada'), google('111')] },
        { user_id: 'auth0|grace', identities: [db('grace')] },
        { user_id: 'auth0|alan', identities: [db('alan')] },
        { user_id: 'auth0|barbara', identities: [db('barbara')] },
        { user_id: 'auth0|other', identities: [db('other'), google('444')] },
      ],
      // Social users who logged in (not in the database snapshot; the stage knows them).
      ['google-oauth2|222', 'google-oauth2|333'],
    );
    expect(calls(entries)).toEqual([
      expect.objectContaining({
        kind: 'links',
        tenant: 'new',
        method: 'POST',
        path: '/users/google-oauth2%7C222/identities',
        body: { provider: 'auth0', user_id: 'grace' },
        userIds: ['google-oauth2|222'],
      }),
      expect.objectContaining({
        path: '/users/auth0%7Calan/identities',
        body: { provider: 'google-oauth2', user_id: '333' },
      }),
    ]);
    expect(settled(entries, 'already_present').map((s) => s.userId)).toEqual(['auth0|ada']);
    expect(settled(entries, 'pending_user').map((s) => s.detail)).toEqual([
      'link of okta|00u9: okta|00u9 has not logged in to the new tenant yet',
    ]);
    expect(settled(entries, 'failed')).toEqual([
      expect.objectContaining({ code: 'linked_to_other_user', userId: 'auth0|barbara' }),
    ]);
    expect(unbalanced(tally(entries))).toEqual([]);
    // Deterministic ids: planned twice, the same calls.
    const again = await plan(
      [
        { user_id: 'auth0|grace', identities: [db('grace')] },
        { user_id: 'auth0|alan', identities: [db('alan')] },
      ],
      ['google-oauth2|222', 'google-oauth2|333'],
    );
    expect(calls(again).map((c) => c.id)).toEqual(calls(entries).map((c) => c.id));
  });

  it('records what a link added and how to undo it', () => {
    const [call] = calls([
      {
        type: 'call',
        call: {
          id: 'links-1',
          kind: 'links',
          tenant: 'new',
          method: 'POST',
          path: '/users/auth0%7Calan/identities',
          body: { provider: 'google-oauth2', user_id: '333' },
          phase: 0,
          count: 1,
          userIds: ['auth0|alan'],
          items: [{ provider: 'google-oauth2', user_id: '333' }],
        },
      },
    ]);
    expect(linksFamily.added(call!, { runId: 'r1', at: '2026-01-01T00:00:00.000Z' })).toEqual([
      expect.objectContaining({
        kind: 'links',
        action: 'assigned',
        userId: 'auth0|alan',
        item: { provider: 'google-oauth2', user_id: '333' },
        undo: { method: 'DELETE', path: '/users/auth0%7Calan/identities/google-oauth2/333' },
      }),
    ]);
  });
});
