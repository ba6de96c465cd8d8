/**
 * The import rules of `npm run lint` (.dependency-cruiser.js) on a small tree laid out like src/:
 * each rule must catch the import it names and let the allowed ones through.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const ROOT = resolve(import.meta.dirname, '../..');

// Each file imports what its comment says; `// ok` lines are allowed, the others break one rule.
const TREE: Record<string, string> = {
  'src/cli.ts': `import './commands/sweep.js'; import './export.js'; // ok`,
  'src/commands/sweep.ts': `import '../workers/index.js'; import '../sim/index.js'; import '../jobs/flow.js'; // ok`,
  'src/export.ts': `import './jobs/users-export.js'; // ok`,
  'src/workers/index.ts': `import '../jobs/flow.js'; import '../pipeline/stage.js'; import '../config.js'; // ok`,
  'src/workers/store.ts': `import { Redis } from 'ioredis';`,
  'src/workers/export.ts': `import '../export.js';`,
  'src/jobs/users-export.ts': `import '../auth0/client.js'; import '../pipeline/stage.js'; // ok`,
  'src/jobs/flow.ts': `import '../report/write.js'; import '../relations/diff.js'; import { Redis } from 'ioredis'; // ok`,
  'src/jobs/start.ts': `import '../workers/index.js';`,
  'src/jobs/rehearse.ts': `import '../sim/index.js';`,
  'src/report/write.ts': `import type { ExportResult } from '../jobs/users-export.js';`,
  'src/report/resets.ts': `import '../auth0/client.js'; // ok`,
  'src/report/a.ts': `import './b.js';`,
  'src/report/b.ts': `import type { A } from './a.js';`,
  'src/pipeline/stage.ts': `import type { T } from '../auth0/types.js'; import type { E } from '../errors.js'; import './read.js'; // ok`,
  'src/pipeline/read.ts': `import { InputError } from '../errors.js';`,
  'src/relations/diff.ts': `import { EXPORT_FIELDS } from '../pipeline/read.js';`,
  'src/auth0/client.ts': `import '../log.js'; import '../errors.js'; import type { C } from '../config.js'; // ok`,
  'src/auth0/types.ts': `import type { Role } from '../relations/model.js'; // ok`,
  'src/relations/model.ts': ``,
  'src/auth0/fields.ts': `import { EXPORT_FIELDS } from '../pipeline/read.js';`,
  'src/config.ts': `import './errors.js'; // ok`,
  'src/errors.ts': ``,
  'src/log.ts': `import type { Config } from './config.js'; import { redact } from './report/format.js';`,
  'src/report/format.ts': ``,
  'src/sim/index.ts': `import './tenant.js'; // ok`,
  'src/sim/tenant.ts': `import type { Config } from '../config.js';`,
  'src/lazy/build.ts': `import { parse } from 'yaml';`,
  'src/lazy/deploy.ts': `import type { Connection } from '../auth0/types.js'; import './deploy-plan.js';`,
};

const EXPECTED = [
  'auth0-at-the-bottom: src/auth0/fields.ts → src/pipeline/read.ts',
  'commands-on-top: src/workers/export.ts → src/export.ts',
  'jobs-from-above-only: src/report/write.ts → src/jobs/users-export.ts',
  'no-cycle: src/report/a.ts → src/report/b.ts',
  'no-dev-dependency-in-src: src/lazy/build.ts → node_modules/yaml',
  'pure-stages: src/pipeline/read.ts → src/errors.ts',
  'pure-stages: src/relations/diff.ts → src/pipeline/read.ts',
  'resolvable: src/lazy/deploy.ts → ./deploy-plan.js',
  'shared-modules-import-none: src/log.ts → src/report/format.ts',
  'sim-independent: src/sim/tenant.ts → src/config.ts',
  'sim-only-from-commands: src/jobs/rehearse.ts → src/sim/index.ts',
  'workers-from-commands-only: src/jobs/start.ts → src/workers/index.ts',
  'workers-no-redis: src/workers/store.ts → node_modules/ioredis',
];

let dir: string;
let options: ICruiseOptions;
beforeAll(async () => {
  // Read as `depcruise` reads it.
  options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.js'));
  dir = await mkdtemp(join(tmpdir(), 'boundaries-'));
  // The project's packages and package.json, so npm imports resolve and devDependencies are known.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), await readFile(join(ROOT, 'package.json')));
  for (const [file, text] of Object.entries(TREE)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), `${text}\n`);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `rule: from → to`, with packages named by their folder under node_modules. */
function violations(result: ICruiseResult): string[] {
  const shown = (to: string): string =>
    to.replace(/^.*\bnode_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1');
  const lines = (result.summary.violations ?? []).map((v) => `${v.rule.name}: ${v.from} → ${shown(v.to)}`);
  return [...new Set(lines)].sort();
}

describe('the import rules', () => {
  it('catch each import they name, and only those', async () => {
    const { output } = await cruise(['src'], { ...options, baseDir: dir });
    expect(violations(output as ICruiseResult)).toEqual(EXPECTED);
  });

  it('are each proven above', () => {
    const proven = new Set(EXPECTED.map((line) => line.slice(0, line.indexOf(':'))));
    const rules = (options.ruleSet?.forbidden ?? []).map((rule) => rule.name ?? '(unnamed)');
    expect(rules.length).toBeGreaterThan(10);
    expect(rules.filter((name) => !proven.has(name))).toEqual([]);
  });
});
