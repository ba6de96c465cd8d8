import { MigrateError } from '../../errors.js';

/**
 * Redis no longer holds the run (restarted without persistence, keys evicted or deleted). Final:
 * the run cannot be resumed from what is left, and its jobs end without writing anything.
 */
export class RunStateLost extends MigrateError {
  readonly runId: string;

  constructor(runId: string, what = '') {
    super(
      `Redis lost run ${runId}'s state${what === '' ? '' : ` (${what})`}: start a new run; users already imported are found in the new tenant.`,
      {
        code: 'run_state_lost',
        final: true,
        hint: `Start a new run without --run-id: it counts the users this run imported as already migrated and imports everyone else. Run Redis with AOF and maxmemory-policy noeviction (as docker-compose.yml does) so a restart keeps runs; \`auth0-migrate discard ${runId}\` deletes the lost run's files.`,
      },
    );
    this.runId = runId;
  }
}

/** The run was stopped (Ctrl-C on the command that ran it): its jobs do nothing until it is resumed. */
export class RunStopped extends MigrateError {
  constructor(runId: string) {
    super(`Run ${runId} is stopped.`, { code: 'run_stopped', final: true });
  }
}
