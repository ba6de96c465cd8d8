/**
 * A worker process for the multi-process tests: `auth0-migrate worker` (workerCommand) with the
 * configuration from the environment and the tests' short timings from RUNNER_TEST_SETTINGS.
 * Prints `ready` once its workers run; SIGTERM stops it as it stops a container. It logs (JSON,
 * on stderr) at LOG_LEVEL.
 */
import { loadConfig } from '../../src/config.js';
import { workerCommand } from '../../src/commands/worker.js';
import { createLogger } from '../../src/log.js';

const settings = JSON.parse(process.env.RUNNER_TEST_SETTINGS ?? '{}');
const config = loadConfig({ dotenvPath: false });
const code = await workerCommand(config, {
  settings,
  logger: createLogger(config),
  onReady: () => process.stdout.write('ready\n'),
});
process.exit(code);
