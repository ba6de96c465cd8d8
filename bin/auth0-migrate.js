#!/usr/bin/env node
// The installed command. It is committed (unlike dist/), so npm and npx can link it before the
// first build; it runs the compiled CLI, or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(
    `error: auth0-migrate is not built (${fileURLToPath(cli)} is missing).\nhint: run \`npm ci\` (or \`npm run build\`) in ${root}\n`,
  );
  process.exit(1);
}
await import(cli.href);
