/**
 * What a terminal shows while a run logs and its progress line is redrawn: the output goes
 * through a headless xterm, and the test reads the screen it ends up with.
 */
import xterm from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createProgress, type ProgressSnapshot } from '../../src/report/progress.js';
import type { TerminalStream } from '../../src/terminal.js';

/** A terminal: bytes written go through a tty's newline handling into a headless xterm. */
class Screen implements TerminalStream {
  readonly isTTY = true;
  readonly columns: number;
  readonly rows: number;
  readonly #term: xterm.Terminal;
  #written: Promise<void> = Promise.resolve();

  constructor(columns = 100, rows = 30) {
    this.columns = columns;
    this.rows = rows;
    this.#term = new xterm.Terminal({ cols: columns, rows, scrollback: 1000, allowProposedApi: true });
  }

  write(text: string): boolean {
    const data = text.replace(/\r?\n/g, '\r\n');
    this.#written = new Promise((resolve) => this.#term.write(data, resolve));
    return true;
  }

  /** Every line on the screen and in the scrollback, without the empty ones at the end. */
  async lines(): Promise<string[]> {
    await this.#written;
    const buffer = this.#term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < buffer.length; i++) out.push(buffer.getLine(i)?.translateToString(true) ?? '');
    while (out.length > 0 && out.at(-1) === '') out.pop();
    return out;
  }

  dispose(): void {
    this.#term.dispose();
  }
}

const T0 = Date.parse('2024-05-01T10:00:00.000Z');

function snap(done: number, phase = 'import'): ProgressSnapshot {
  return {
    runId: 'run-1',
    phase,
    usersRead: 1000,
    total: 1000,
    batches: { queued: 4, running: 2, done: 3, failed: 0 },
    counts: { imported: done - 50, already_migrated: 40, skipped: 10, failed: 0 },
    startedAt: T0,
  };
}

describe('a run on a terminal', () => {
  it('prints log blocks above the progress line, which stays one line at the bottom', async () => {
    const screen = new Screen();
    let clock = T0;
    // No redraws of their own during the test: every frame comes from an update below.
    const progress = createProgress({ stream: screen, now: () => clock, redrawMs: 3_600_000 });
    const logger = createLogger({ logLevel: 'info', logFormat: 'pretty' }, { command: 'sweep' }, screen);
    try {
      progress.update(snap(100));
      logger.info({ queues: ['sweep', 'export', 'plan'] }, 'workers started');
      clock += 1000;
      progress.update(snap(300));
      logger.warn({ batch: 'run-1-0', users: 730 }, 'import job created');
      clock += 1000;
      progress.update(snap(500));

      const lines = await screen.lines();
      expect(lines.at(-1)).toMatch(/^run-1 import · elapsed 2\.0 s · about 2\.5 s left · read /);
      expect(lines.filter((l) => l.includes('run-1 import'))).toHaveLength(1);
      const logged = lines.slice(0, -1);
      expect(
        logged.find((l) => l.includes('INFO')),
        logged.join('\n'),
      ).toMatch(/INFO.*: workers started$/);
      expect(logged.find((l) => l.includes('WARN'))).toMatch(/WARN.*: import job created$/);
      // Each block whole and in order: its lines follow one another.
      const info = logged.findIndex((l) => l.includes('workers started'));
      expect(logged.slice(info + 1, info + 3)).toEqual(['    command: "sweep"', '    queues: [']);
      const warn = logged.findIndex((l) => l.includes('import job created'));
      expect(warn).toBeGreaterThan(info);
      expect(logged.slice(warn + 1, warn + 4)).toEqual([
        '    command: "sweep"',
        '    batch: "run-1-0"',
        '    users: 730',
      ]);

      progress.stop(snap(1000, 'done'));
      logger.info('report written');
      const after = await screen.lines();
      // The last progress line stays as a line of its own, and the log goes on below it.
      const done = after.findIndex((l) => l.startsWith('run-1 done · elapsed 2.0 s · read 1,000/1,000 · '));
      expect(done, after.join('\n')).toBeGreaterThan(warn);
      const report = after.findIndex((l) => /INFO.*: report written$/.test(l));
      expect(report).toBeGreaterThan(done);
      expect(after.slice(report + 1)).toEqual(['    command: "sweep"']);
    } finally {
      progress.stop();
      screen.dispose();
    }
  });

  it('cuts the progress line to the width rather than wrapping it', async () => {
    const screen = new Screen(60, 10);
    const progress = createProgress({ stream: screen, now: () => T0, redrawMs: 3_600_000 });
    try {
      progress.update(snap(100));
      const lines = await screen.lines();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^run-1 import · elapsed 0 ms · estimating · read .*…$/);
      expect(lines[0]!.length).toBeLessThan(60);
    } finally {
      progress.stop();
      screen.dispose();
    }
  });
});
