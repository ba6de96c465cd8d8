import type { Config } from './config.js';
import { MigrateError } from './errors.js';

export async function importCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('importCommand is not available yet');
}
