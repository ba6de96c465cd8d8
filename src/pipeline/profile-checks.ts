/**
 * What Auth0 refuses in a user and the import schema does not say, checked before anything is
 * sent: records nested too deep to handle, metadata field names with `.` or `$`, and profiles
 * over Auth0's size limit. End users can often write their own `user_metadata`, so each of these
 * is one user's skip, never the run's failure. The walks here are iterative: they must work on
 * exactly the records that would overflow the stack of a recursive one.
 */

/**
 * Levels of objects and arrays a record may nest, the record itself being level 1. Auth0 documents
 * no depth limit; its profile store refuses documents nested deeper than 100 levels, and every
 * recursive step after reading (schema check, JSON.stringify, structured clone, report writing)
 * overflows the stack somewhere in the thousands, so a deeper record is skipped before any of them.
 */
export const MAX_NESTING = 100;

/**
 * Auth0 limits a serialised user profile to 10 KB, with an "extended allowance" of about ten times
 * that: profiles between the two are stored with a warning in the tenant logs, larger ones are
 * refused (`PROFILE_SIZE_EXCEEDED`). Tenants still on uncapped profiles until March 2027, and later
 * changes of the allowance, are why the limit can be set (`MAX_PROFILE_BYTES`).
 */
export const DEFAULT_MAX_PROFILE_BYTES = 102_400;

/** Whether `value` nests objects or arrays more than `max` levels deep. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: object[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * The JSON pointer of the first field name in `app_metadata` or `user_metadata`, at any depth,
 * that holds `.` or `$` (Auth0 answers `NOT_PASSED` for such a user), or undefined.
 */
export function invalidMetadataKey(user: {
  app_metadata?: unknown;
  user_metadata?: unknown;
}): string | undefined {
  for (const field of ['user_metadata', 'app_metadata'] as const) {
    const root = user[field];
    if (root === null || typeof root !== 'object') continue;
    const stack: Array<[unknown, string]> = [[root, `/${field}`]];
    while (stack.length > 0) {
      const [node, path] = stack.pop()!;
      if (Array.isArray(node)) {
        for (let i = node.length - 1; i >= 0; i--) {
          const child: unknown = node[i];
          if (child !== null && typeof child === 'object') stack.push([child, `${path}/${i}`]);
        }
        continue;
      }
      const entries = Object.entries(node as Record<string, unknown>);
      for (const [key] of entries) {
        if (key.includes('.') || key.includes('$')) return `${path}/${shortKey(key)}`;
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (child !== null && typeof child === 'object') stack.push([child, `${path}/${shortKey(key)}`]);
      }
    }
  }
  return undefined;
}

/** A field name as a JSON pointer step, cut short: it is written into skipped.ndjson. */
function shortKey(key: string): string {
  const escaped = key.replace(/~/g, '~0').replace(/\//g, '~1');
  return escaped.length > 64 ? `${escaped.slice(0, 64)}…` : escaped;
}
