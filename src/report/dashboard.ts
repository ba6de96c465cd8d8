import type { Config } from '../config.js';
import { MigrateError } from '../errors.js';

export async function dashboardCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('dashboardCommand is not available yet');
}
