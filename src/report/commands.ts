import type { Config } from '../config.js';
import { MigrateError } from '../errors.js';

export async function runsCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('runsCommand is not available yet');
}

export async function reportCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('reportCommand is not available yet');
}

export async function resetsCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('resetsCommand is not available yet');
}
