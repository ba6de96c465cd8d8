/**
 * Plan lines and the common part of added-records, built the same way by every family (RBAC,
 * organizations, links). Pure.
 */
import type { CallSuccess } from './family.js';
import type { AddedRecord, EntityRef, PlanEntry, PlannedCall } from './types.js';

/** A relation settled without a call: already in the new tenant, or waiting for its user. */
export function settled(
  kind: string,
  outcome: 'already_present' | 'pending_user',
  entity: EntityRef,
  count: number,
  userId?: string,
): PlanEntry {
  return {
    type: 'settled',
    settled: { kind, outcome, entity, count, ...(userId === undefined ? {} : { userId }) },
  };
}

/** A relation refused before anything is sent (an entity limit, an unresolvable name), with its code. */
export function settledFailed(
  kind: string,
  entity: EntityRef,
  code: string,
  count = 1,
  userId?: string,
): PlanEntry {
  return {
    type: 'settled',
    settled: { kind, outcome: 'failed', entity, code, count, ...(userId === undefined ? {} : { userId }) },
  };
}

/** An entity limit the plan would break, for the report. */
export function limitBreach(subject: string, detail: string): PlanEntry {
  return { type: 'finding', finding: { type: 'limit_breach', subject, detail } };
}

/** What every added-record of a call that succeeded starts with. */
export function recordBase(
  call: PlannedCall,
  success: CallSuccess,
): Pick<AddedRecord, 'v' | 'runId' | 'callId' | 'kind' | 'tenant' | 'at'> {
  return {
    v: 1,
    runId: success.runId,
    callId: call.id,
    kind: call.kind,
    tenant: call.tenant,
    at: success.at,
  };
}

/** A call carrying several users, as one call per user (ids derived from the batch's). */
export function splitByUser(call: PlannedCall, field: 'users' | 'members'): PlannedCall[] {
  return call.userIds.map((userId, i) => ({
    ...call,
    id: `${call.id}.${i}`,
    body: { [field]: [userId] },
    count: 1,
    userIds: [userId],
  }));
}
