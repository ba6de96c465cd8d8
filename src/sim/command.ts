import type { Config } from '../config.js';
import { MigrateError } from '../errors.js';

export async function simCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('simCommand is not available yet');
}
