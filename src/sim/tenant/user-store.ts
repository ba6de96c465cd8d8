/**
 * A tenant's users. Generated users stay virtual (regenerated from their index on demand) until
 * something changes them; then they are materialised into an ordinary record. That keeps a
 * million seeded users at a few bytes each.
 *
 * A user belongs to every connection it has an identity in (its own and its linked ones), as
 * Auth0's `identities.connection` filter does; identities linked to a user are found by their id
 * and, within their connection, by their email, so they stay taken.
 */
import {
  NO_EXTRAS,
  generateUser,
  generatedConnections,
  indexFromEmail,
  indexFromPhone,
  indexFromUserId,
  indexFromUsername,
  type GeneratedExtras,
  type GeneratedVariant,
} from './generate.js';
import { defaultPicture, userConnections, type SimLinkedIdentity, type SimUser } from './users.js';

export interface GeneratedPopulation {
  seed: number;
  variant: GeneratedVariant;
  /** Generated indices present, ascending; `count` means 0..count-1. */
  indices: Uint32Array | { count: number };
  /** Linked accounts and MFA enrolments of the `old` variant. @defaultValue none */
  extras?: GeneratedExtras;
}

/** Why a user left the store: deleted, or linked into another user as one of its identities. */
export type UserRemovalReason = 'deleted' | 'linked';

/**
 * Called when a user leaves the store, so other resources (role assignments, memberships) can
 * drop what they hold for it. The user's own enrolments and linked identities go with its record.
 */
export type UserRemovalListener = (user: Readonly<SimUser>, reason: UserRemovalReason) => void;

/** A linked identity and the user it is linked to. */
export interface LinkedIdentityMatch {
  primary: SimUser;
  identity: SimLinkedIdentity;
}

export class UserStore {
  readonly #records = new Map<string, SimUser>();
  /** lower-cased email → user ids (records only). */
  readonly #byEmail = new Map<string, string[]>();
  readonly #byUsername = new Map<string, string>();
  readonly #byPhone = new Map<string, string>();
  /** `provider|user_id` of a linked identity → the user it is linked to (records only). */
  readonly #byLinkedId = new Map<string, string>();
  readonly #removalListeners = new Set<UserRemovalListener>();
  #gen: GeneratedPopulation | undefined;
  /** 1 where the generated user at that position was materialised or deleted. */
  #removed = new Uint8Array(0);
  #genCounts = new Map<string, number>();
  /** Generated users neither materialised nor deleted. */
  #genLive = 0;

  /** Adds generated users (replaces any earlier generated population). */
  setGenerated(population: GeneratedPopulation): void {
    this.#gen = population;
    const n = this.#genSize();
    this.#removed = new Uint8Array(n);
    this.#genCounts = new Map();
    this.#genLive = n;
    for (let pos = 0; pos < n; pos++) {
      for (const c of this.#connectionsAt(pos)) this.#genCounts.set(c, (this.#genCounts.get(c) ?? 0) + 1);
    }
  }

  /**
   * Calls `listener` with each user deleted from now on (or linked into another user), so a
   * tenant's other state forgets them; returns what stops it.
   */
  onDelete(listener: UserRemovalListener): () => void {
    this.#removalListeners.add(listener);
    return () => this.#removalListeners.delete(listener);
  }

  #connectionsAt(pos: number): string[] {
    const g = this.#gen!;
    return generatedConnections(g.seed, this.#indexAt(pos), g.variant, g.extras ?? NO_EXTRAS);
  }

  #generate(index: number): SimUser {
    const g = this.#gen!;
    return generateUser(g.seed, index, g.variant, g.extras ?? NO_EXTRAS);
  }

  #genSize(): number {
    const g = this.#gen;
    if (g === undefined) return 0;
    return g.indices instanceof Uint32Array ? g.indices.length : g.indices.count;
  }

  #indexAt(pos: number): number {
    const ix = this.#gen!.indices;
    return ix instanceof Uint32Array ? ix[pos]! : pos;
  }

  #positionOf(index: number): number {
    const g = this.#gen;
    if (g === undefined) return -1;
    const ix = g.indices;
    if (!(ix instanceof Uint32Array)) return index >= 0 && index < ix.count ? index : -1;
    let lo = 0;
    let hi = ix.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ix[mid]!;
      if (v === index) return mid;
      if (v < index) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The live generated user at `index`, if present and untouched. */
  #generated(index: number | undefined): SimUser | undefined {
    if (index === undefined || this.#gen === undefined) return undefined;
    const pos = this.#positionOf(index);
    if (pos < 0 || this.#removed[pos] === 1) return undefined;
    return this.#generate(index);
  }

  get size(): number {
    return this.#records.size + this.#genLive;
  }

  /** Users with an identity in `connection` (all users without one). */
  count(connection?: string): number {
    if (connection === undefined) return this.size;
    let n = this.#genCounts.get(connection) ?? 0;
    for (const u of this.#records.values()) if (userConnections(u).includes(connection)) n++;
    return n;
  }

  get(userId: string): SimUser | undefined {
    const r = this.#records.get(userId);
    if (r !== undefined) return r;
    const g = this.#generated(indexFromUserId(userId));
    return g !== undefined && g.user_id === userId ? g : undefined;
  }

  /**
   * Users with this email (case-insensitive). Without a connection: their own email, as
   * users-by-email finds them. In a connection: the user whose identity there has the email, which
   * may be a linked identity (that email is taken in the connection).
   */
  findByEmail(email: string, connection?: string): SimUser[] {
    const lower = email.toLowerCase();
    const matches = (u: SimUser): boolean =>
      connection === undefined
        ? u.email === lower
        : (u.connection === connection && u.email === lower) ||
          (u.identities ?? []).some(
            (i) => i.connection === connection && String(i.profileData.email ?? '').toLowerCase() === lower,
          );
    const out: SimUser[] = [];
    const g = this.#generated(indexFromEmail(lower));
    if (g !== undefined && matches(g)) out.push(g);
    for (const id of this.#byEmail.get(lower) ?? []) {
      const r = this.#records.get(id);
      if (r !== undefined && matches(r)) out.push(r);
    }
    return out;
  }

  /** The user an identity `provider|user_id` is linked to, and that identity. */
  findLinked(fullId: string): LinkedIdentityMatch | undefined {
    const inRecord = (primary: SimUser | undefined): LinkedIdentityMatch | undefined => {
      const identity = primary?.identities?.find((i) => `${i.provider}|${i.user_id}` === fullId);
      return identity === undefined ? undefined : { primary: primary!, identity };
    };
    const id = this.#byLinkedId.get(fullId);
    if (id !== undefined) return inRecord(this.#records.get(id));
    return inRecord(this.#generated(indexFromUserId(fullId)));
  }

  findByUsername(username: string, connection: string): SimUser | undefined {
    const id = this.#byUsername.get(`${connection}\0${username.toLowerCase()}`);
    if (id !== undefined) return this.#records.get(id);
    const g = this.#generated(indexFromUsername(username.toLowerCase()));
    return g !== undefined && g.username === username.toLowerCase() && g.connection === connection
      ? g
      : undefined;
  }

  findByPhone(phone: string, connection: string): SimUser | undefined {
    const id = this.#byPhone.get(`${connection}\0${phone}`);
    if (id !== undefined) return this.#records.get(id);
    const g = this.#generated(indexFromPhone(phone));
    return g !== undefined && g.phone_number === phone && g.connection === connection ? g : undefined;
  }

  /**
   * Adds a new user. The caller has checked that its id is free. Like Auth0, every way a user is
   * created (POST /users, an import, a lazy or social login, a seed) gives it a `picture` when none
   * was supplied.
   */
  insert(user: SimUser): void {
    user.picture ??= defaultPicture(user);
    this.#records.set(user.user_id, user);
    this.#index(user);
  }

  /**
   * Applies `change` to a user and returns the stored record (a generated user becomes a record).
   * Indices follow changed emails, usernames and phone numbers.
   */
  update(userId: string, change: (u: SimUser) => void): SimUser | undefined {
    const u = this.#materialise(userId);
    if (u === undefined) return undefined;
    this.#unindex(u);
    change(u);
    this.#index(u);
    return u;
  }

  /**
   * Removes a user with everything its record holds (enrolments, linked identities) and tells the
   * removal listeners. False when there was no such user.
   */
  delete(userId: string, reason: UserRemovalReason = 'deleted'): boolean {
    let removed = this.#records.get(userId);
    if (removed !== undefined) {
      this.#unindex(removed);
      this.#records.delete(userId);
    } else {
      removed = this.get(userId);
      if (removed === undefined || removed.generatedIndex === undefined) return false;
      this.#markRemoved(removed);
    }
    for (const listener of this.#removalListeners) listener(removed, reason);
    return true;
  }

  /** Every user (with an identity in one connection), generated first in index order, then records. */
  *iterate(connection?: string): Generator<SimUser> {
    const g = this.#gen;
    if (g !== undefined) {
      const n = this.#genSize();
      const wantGen = connection === undefined || (this.#genCounts.get(connection) ?? 0) > 0;
      for (let pos = 0; wantGen && pos < n; pos++) {
        if (this.#removed[pos] === 1) continue;
        if (connection !== undefined && !this.#connectionsAt(pos).includes(connection)) continue;
        yield this.#generate(this.#indexAt(pos));
      }
    }
    for (const u of this.#records.values()) {
      if (connection === undefined || userConnections(u).includes(connection)) yield u;
    }
  }

  #materialise(userId: string): SimUser | undefined {
    const r = this.#records.get(userId);
    if (r !== undefined) return r;
    const g = this.get(userId);
    if (g === undefined) return undefined;
    this.#markRemoved(g);
    this.insert(g);
    return g;
  }

  #markRemoved(g: SimUser): void {
    const pos = this.#positionOf(g.generatedIndex!);
    if (pos < 0 || this.#removed[pos] === 1) return;
    this.#removed[pos] = 1;
    this.#genLive--;
    for (const c of this.#connectionsAt(pos)) this.#genCounts.set(c, (this.#genCounts.get(c) ?? 1) - 1);
  }

  /** Own email and linked identities' emails, lower-cased. */
  #emails(u: SimUser): string[] {
    const out = u.email === undefined ? [] : [u.email.toLowerCase()];
    for (const i of u.identities ?? []) {
      if (typeof i.profileData.email === 'string') out.push(i.profileData.email.toLowerCase());
    }
    return out;
  }

  #index(u: SimUser): void {
    for (const key of this.#emails(u)) {
      const ids = this.#byEmail.get(key);
      if (ids === undefined) this.#byEmail.set(key, [u.user_id]);
      else if (!ids.includes(u.user_id)) ids.push(u.user_id);
    }
    for (const i of u.identities ?? []) this.#byLinkedId.set(`${i.provider}|${i.user_id}`, u.user_id);
    if (u.username !== undefined)
      this.#byUsername.set(`${u.connection}\0${u.username.toLowerCase()}`, u.user_id);
    if (u.phone_number !== undefined) this.#byPhone.set(`${u.connection}\0${u.phone_number}`, u.user_id);
  }

  #unindex(u: SimUser): void {
    for (const key of this.#emails(u)) {
      const ids = this.#byEmail.get(key)?.filter((id) => id !== u.user_id);
      if (ids === undefined || ids.length === 0) this.#byEmail.delete(key);
      else this.#byEmail.set(key, ids);
    }
    for (const i of u.identities ?? []) this.#byLinkedId.delete(`${i.provider}|${i.user_id}`);
    if (u.username !== undefined) this.#byUsername.delete(`${u.connection}\0${u.username.toLowerCase()}`);
    if (u.phone_number !== undefined) this.#byPhone.delete(`${u.connection}\0${u.phone_number}`);
  }
}
