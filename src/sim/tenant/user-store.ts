/**
 * A tenant's users. Generated users stay virtual (regenerated from their index on demand) until
 * something changes them; then they are materialised into an ordinary record. That keeps a
 * million seeded users at a few bytes each.
 */
import {
  DB_CONNECTION,
  SOCIAL_CONNECTION,
  generateUser,
  generatedKind,
  indexFromEmail,
  indexFromPhone,
  indexFromUserId,
  indexFromUsername,
  type GeneratedVariant,
} from './generate.js';
import type { SimUser } from './users.js';

export interface GeneratedPopulation {
  seed: number;
  variant: GeneratedVariant;
  /** Generated indices present, ascending; `count` means 0..count-1. */
  indices: Uint32Array | { count: number };
}

export class UserStore {
  readonly #records = new Map<string, SimUser>();
  /** lower-cased email → user ids (records only). */
  readonly #byEmail = new Map<string, string[]>();
  readonly #byUsername = new Map<string, string>();
  readonly #byPhone = new Map<string, string>();
  #gen: GeneratedPopulation | undefined;
  /** 1 where the generated user at that position was materialised or deleted. */
  #removed = new Uint8Array(0);
  #genCounts = new Map<string, number>();
  readonly #deleteListeners: Array<(user: SimUser) => void> = [];

  /** Calls `listener` with each user deleted from now on, so a tenant's other state forgets them. */
  onDelete(listener: (user: SimUser) => void): void {
    this.#deleteListeners.push(listener);
  }

  /** Adds generated users (replaces any earlier generated population). */
  setGenerated(population: GeneratedPopulation): void {
    this.#gen = population;
    const n = this.#genSize();
    this.#removed = new Uint8Array(n);
    let social = 0;
    for (let pos = 0; pos < n; pos++) {
      if (generatedKind(population.seed, this.#indexAt(pos)) === 'social') social++;
    }
    this.#genCounts = new Map([
      [DB_CONNECTION, n - social],
      [SOCIAL_CONNECTION, social],
    ]);
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
    return generateUser(this.#gen.seed, index, this.#gen.variant);
  }

  get size(): number {
    let n = this.#records.size;
    for (const c of this.#genCounts.values()) n += c;
    return n;
  }

  count(connection?: string): number {
    if (connection === undefined) return this.size;
    let n = this.#genCounts.get(connection) ?? 0;
    for (const u of this.#records.values()) if (u.connection === connection) n++;
    return n;
  }

  get(userId: string): SimUser | undefined {
    const r = this.#records.get(userId);
    if (r !== undefined) return r;
    const g = this.#generated(indexFromUserId(userId));
    return g !== undefined && g.user_id === userId ? g : undefined;
  }

  /** Users with this email (case-insensitive), in every connection or in one. */
  findByEmail(email: string, connection?: string): SimUser[] {
    const lower = email.toLowerCase();
    const out: SimUser[] = [];
    const g = this.#generated(indexFromEmail(lower));
    if (g !== undefined && g.email === lower && (connection === undefined || g.connection === connection)) {
      out.push(g);
    }
    for (const id of this.#byEmail.get(lower) ?? []) {
      const r = this.#records.get(id);
      if (r !== undefined && (connection === undefined || r.connection === connection)) out.push(r);
    }
    return out;
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

  /** Adds a new user. The caller has checked that its id is free. */
  insert(user: SimUser): void {
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

  delete(userId: string): boolean {
    let gone = this.#records.get(userId);
    if (gone !== undefined) {
      this.#unindex(gone);
      this.#records.delete(userId);
    } else {
      gone = this.get(userId);
      if (gone === undefined || gone.generatedIndex === undefined) return false;
      this.#markRemoved(gone);
    }
    for (const listener of this.#deleteListeners) listener(gone);
    return true;
  }

  /** Every user (of one connection), generated first in index order, then records by insertion. */
  *iterate(connection?: string): Generator<SimUser> {
    const g = this.#gen;
    if (g !== undefined) {
      const n = this.#genSize();
      const wantGen = connection === undefined || (this.#genCounts.get(connection) ?? 0) > 0;
      for (let pos = 0; wantGen && pos < n; pos++) {
        if (this.#removed[pos] === 1) continue;
        const index = this.#indexAt(pos);
        if (connection !== undefined) {
          const social = generatedKind(g.seed, index) === 'social';
          if ((connection === SOCIAL_CONNECTION) !== social) continue;
        }
        yield generateUser(g.seed, index, g.variant);
      }
    }
    for (const u of this.#records.values()) {
      if (connection === undefined || u.connection === connection) yield u;
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
    this.#genCounts.set(g.connection, (this.#genCounts.get(g.connection) ?? 1) - 1);
  }

  #index(u: SimUser): void {
    if (u.email !== undefined) {
      const key = u.email.toLowerCase();
      const ids = this.#byEmail.get(key);
      if (ids === undefined) this.#byEmail.set(key, [u.user_id]);
      else if (!ids.includes(u.user_id)) ids.push(u.user_id);
    }
    if (u.username !== undefined)
      this.#byUsername.set(`${u.connection}\0${u.username.toLowerCase()}`, u.user_id);
    if (u.phone_number !== undefined) this.#byPhone.set(`${u.connection}\0${u.phone_number}`, u.user_id);
  }

  #unindex(u: SimUser): void {
    if (u.email !== undefined) {
      const key = u.email.toLowerCase();
      const ids = this.#byEmail.get(key)?.filter((id) => id !== u.user_id);
      if (ids === undefined || ids.length === 0) this.#byEmail.delete(key);
      else this.#byEmail.set(key, ids);
    }
    if (u.username !== undefined) this.#byUsername.delete(`${u.connection}\0${u.username.toLowerCase()}`);
    if (u.phone_number !== undefined) this.#byPhone.delete(`${u.connection}\0${u.phone_number}`);
  }
}
