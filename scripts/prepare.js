// `npm ci` and `npm install` build the command into dist/ (npm runs `prepare` after installing).
// Without the dev dependencies (`npm ci --omit=dev`, or npx linking this checkout before
// `npm ci`) there is nothing to build with: the install goes on, and the launcher in bin/ says
// how to build. A failing `prepare` would instead leave npx's cache of this checkout broken.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../node_modules/typescript/package.json', import.meta.url))) {
  process.stderr.write(
    'auth0-migrate: TypeScript is not installed, so dist/ is not built (npm ci builds it).\n',
  );
  process.exit(0);
}
const npm = process.env.npm_execpath;
const build =
  npm === undefined
    ? spawnSync('npm', ['run', 'build'], { stdio: 'inherit' })
    : spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
