/**
 * A worker process for the multi-process tests: `auth0-migrate worker` (workerCommand) with the
 * configuration from the environment and the tests' short timings from RUNNER_TEST_SETTINGS.
 * Prints `ready` once its workers run; SIGTERM stops it as it stops a container.
 */
import { loadConfig } from '../../src/config.js';
import { workerCommand } from '../../src/commands/worker.js';
import { silentLogger } from '../../src/log.js';

const settings = JSON.parse(process.env.RUNNER_TEST_SETTINGS ?? '{}');
const code = await workerCommand(loadConfig({ dotenvPath: false }), {
  settings,
  logger: silentLogger,
  onReady: () => process.stdout.write('ready\n'),
});
process.exit(code);
