import type { Config } from './config.js';
import { MigrateError } from './errors.js';

export async function exportCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('exportCommand is not available yet');
}
