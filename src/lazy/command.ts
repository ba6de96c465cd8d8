import type { Config } from '../config.js';
import { MigrateError } from '../errors.js';

export async function lazyBuildCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('lazyBuildCommand is not available yet');
}

export async function lazyDeployCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('lazyDeployCommand is not available yet');
}

export async function lazyFinishCommand(_config: Config, ..._args: unknown[]): Promise<number> {
  throw new MigrateError('lazyFinishCommand is not available yet');
}
