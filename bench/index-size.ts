/**
 * `npm run bench -- index [--users N]`: the migrated index at the size issue 4 asks it to hold
 * (default 10,000,000 users of the new tenant, two keys each), built from users made in memory:
 * bytes per key, build time, lookups per second, and the whole process's peak RSS against what
 * it was before. It also checks what the index promises: every user added is found, by id and by
 * email, and none of a million users never added is (a false "already migrated").
 */
import { parseArgs } from 'node:util';
import { MigratedIndexBuilder, type MigratedIndex } from '../src/pipeline/index.js';
import { mb, perSecond, thousands } from './lib/measure.js';

const TARGET_BYTES_PER_KEY = 16;

/**
 * User `i` of a set: a 24-hex database id as Auth0 makes them (first digit the set) and an
 * email, both unique per set and `i`.
 */
function user(i: number, set: 'a' | 'f'): { id: string; email: string } {
  return {
    id: `auth0|${set}${i.toString(16).padStart(23, '0')}`,
    email: `${set}.user.${i}@example${i % 97}.com`,
  };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { users: { type: 'string', default: '10000000' } },
  });
  const users = Number(values.users);
  if (!Number.isInteger(users) || users < 1) throw new Error('--users must be a whole number ≥ 1');
  const out = (s = ''): void => {
    process.stdout.write(`${s}\n`);
  };
  const rssBefore = process.memoryUsage().rss;
  out(`index bench: ${thousands(users)} users of the new tenant (two keys each)`);

  const t0 = performance.now();
  const builder = new MigratedIndexBuilder();
  for (let i = 0; i < users; i++) {
    const u = user(i, 'a');
    builder.add(u.id, u.email);
  }
  const index = builder.build();
  const buildMs = performance.now() - t0;
  const s = index.stats;
  out(
    `built in ${(buildMs / 1000).toFixed(1)} s (${perSecond(users, buildMs)}): ${thousands(s.keys)} keys, ${mb(s.bytes)}, ` +
      `${s.bytesPerKey.toFixed(2)} bytes/key   (target ≤ ${TARGET_BYTES_PER_KEY}: ${s.bytesPerKey <= TARGET_BYTES_PER_KEY ? 'met' : 'NOT MET'})`,
  );

  const present = check(index, users, 'a');
  out(
    `lookups of users added     ${thousands(present.found)} of ${thousands(users)} found by id, ${thousands(present.byEmail)} by email alone ` +
      `(${perSecond(users * 2, present.ms)} lookups)`,
  );
  const absentCount = Math.min(users, 1_000_000);
  const absent = check(index, absentCount, 'f');
  out(
    `lookups of users never added ${thousands(absent.found + absent.byEmail)} of ${thousands(absentCount)} wrongly found   ` +
      `(must be 0; ${perSecond(absentCount * 2, absent.ms)} lookups)`,
  );
  const peak = process.resourceUsage().maxRSS * 1024;
  out(
    `peak RSS       ${mb(peak)} for the whole process, ${mb(rssBefore)} before building: ` +
      `${((peak - rssBefore) / users).toFixed(1)} bytes per user at the peak (the keys are collected, then moved into the table)`,
  );
  if (present.found !== users || present.byEmail !== users || absent.found + absent.byEmail !== 0) {
    process.exitCode = 1;
    out('THE INDEX DID NOT KEEP ITS PROMISE');
  }
}

/** Looks every user up by id, then by email alone. */
function check(
  index: MigratedIndex,
  count: number,
  set: 'a' | 'f',
): { found: number; byEmail: number; ms: number } {
  let found = 0;
  let byEmail = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const u = user(i, set);
    if (index.match(u.id.slice(6), undefined) === 'user_id') found++;
    if (index.match(undefined, u.email) === 'email') byEmail++;
  }
  return { found, byEmail, ms: performance.now() - t0 };
}
