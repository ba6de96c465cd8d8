/**
 * `auth0-migrate rollback RUN_ID --send` in a process of its own, for the test that kills it
 * half way: the configuration from the environment, the run id and the concurrency from argv.
 */
import { loadConfig } from '../../src/config.js';
import { rollbackCommand } from '../../src/commands/rollback.js';

const [runId, concurrency] = process.argv.slice(2);
const config = loadConfig({ dotenvPath: false });
const code = await rollbackCommand(config, runId!, { send: true, concurrency: Number(concurrency ?? 1) });
process.exit(code);
