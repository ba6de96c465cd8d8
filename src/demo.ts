import type { Config } from './config.js';
import { MigrateError } from './errors.js';

export async function demoCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('demoCommand is not available yet');
}
