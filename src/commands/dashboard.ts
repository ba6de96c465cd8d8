/** `auth0-migrate dashboard`: bull-board over the queues (report/dashboard.ts) until SIGINT or SIGTERM. */
import type { Config } from '../config.js';
import { ExitCode } from '../errors.js';
import { QUEUES } from '../jobs/queues.js';
import { createLogger } from '../log.js';
import { startDashboard } from '../report/dashboard.js';

/** Serves the dashboard until SIGINT or SIGTERM. */
export async function dashboardCommand(config: Config): Promise<number> {
  const logger = createLogger(config, { component: 'dashboard' });
  const dashboard = await startDashboard({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    queueNames: Object.values(QUEUES),
    host: config.dashboardHost,
    port: config.dashboardPort,
    ...(config.dashboardAuth !== undefined && { auth: config.dashboardAuth }),
    logger,
  });
  process.stdout.write(
    `Dashboard on ${dashboard.url} (queues under "${config.queuePrefix}"${config.dashboardAuth ? ', basic auth on' : ''}). Ctrl-C stops it.\n`,
  );
  const signal = await new Promise<string>((resolve) => {
    const stop = (name: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(name);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  logger.info({ signal }, 'dashboard: stopping');
  await dashboard.close();
  return ExitCode.ok;
}
