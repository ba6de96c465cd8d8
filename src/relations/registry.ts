/**
 * The relation families the stage runs, in order. A family is one file of src/relations/
 * implementing {@link RelationFamily}; adding one is that file and one line here. Order matters
 * only for the report and for families that use another's entities (organization member roles
 * name roles: RBAC first).
 */
import type { RelationFamily } from './family.js';
import { linksFamily } from './links.js';
import { rbacFamily } from './rbac.js';

export const RELATION_FAMILIES: readonly RelationFamily[] = [rbacFamily, linksFamily];

/** The family counting a kind, for reports and rollback. */
export function familyOfKind(kind: string): RelationFamily | undefined {
  return RELATION_FAMILIES.find((f) => f.kinds.includes(kind));
}

export function familyByName(name: string): RelationFamily | undefined {
  return RELATION_FAMILIES.find((f) => f.name === name);
}

/** Every kind of every family, in report order. */
export function relationKinds(): string[] {
  return RELATION_FAMILIES.flatMap((f) => [...f.kinds]);
}
