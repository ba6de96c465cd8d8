/**
 * Every package that package-lock.json installs runs on every Node line package.json promises
 * (`engines`), from its first supported version on: `npm ci` there gives no EBADENGINE (CI installs
 * with --engine-strict, which turns one into a failure).
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

/** The first version of each line the range allows: `^20.19.0 || >=24` → 20.19.0, 24.0.0. */
function firstVersions(range: string): string[] {
  return new semver.Range(range).set.map((comparators) => semver.minVersion(comparators.join(' '))!.version);
}

describe('Node versions', () => {
  const promised = firstVersions(pkg.engines.node);

  it('package.json promises Node 20.19, 22 and 24', () => {
    expect(promised).toEqual(['20.19.0', '22.13.0', '24.0.0']);
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });

  it('every installed package supports each of them', () => {
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '') continue;
      const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (node === undefined) continue;
      for (const version of promised) {
        if (!semver.satisfies(version, node))
          refused.push(`${path}@${entry.version}: node ${node} excludes ${version}`);
      }
    }
    expect(refused).toEqual([]);
  });
});
