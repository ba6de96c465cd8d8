import type { Config } from '../config.js';
import { MigrateError } from '../errors.js';

export async function sweepCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('sweepCommand is not available yet');
}

export async function workerCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('workerCommand is not available yet');
}

export async function statusCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('statusCommand is not available yet');
}
