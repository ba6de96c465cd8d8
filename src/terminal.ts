/**
 * A terminal's stderr, shared by the log and a live status line (the progress of a run or an
 * export). While a status line is shown, whatever is logged is printed above it and the status
 * line is drawn again below, so it stays at the bottom (log-update's `persist`, as progress
 * libraries do). Off a terminal there is no status line and text goes straight to the stream.
 */
import { createLogUpdate } from 'log-update';

/** What the terminal writes to: process.stderr, or a stand-in in tests. */
export interface TerminalStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

type LogUpdate = ReturnType<typeof createLogUpdate>;

export class Terminal {
  readonly stream: TerminalStream;
  #live: LogUpdate | undefined;
  #status: string | undefined;

  constructor(stream: TerminalStream) {
    this.stream = stream;
  }

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  /** Writes `text` (whole lines) above the status line, or as it is when there is none. */
  log(text: string): void {
    if (this.#live === undefined || this.#status === undefined) {
      this.stream.write(text);
      return;
    }
    this.#live.persist(text);
    this.#live(this.#status);
  }

  /** Shows `line` as the status line, replacing the last one; nothing off a terminal. */
  status(line: string): void {
    if (!this.isTTY) return;
    this.#live ??= createLogUpdate(this.stream as NodeJS.WriteStream);
    this.#status = line;
    this.#live(line);
  }

  /** Removes the status line; what is written next goes where it was. */
  clearStatus(): void {
    if (this.#live === undefined || this.#status === undefined) return;
    this.#live.clear();
    this.#live.done();
    this.#status = undefined;
  }
}

const terminals = new WeakMap<TerminalStream, Terminal>();

/** The one {@link Terminal} of a stream, so the log and the progress display share it. */
export function terminalFor(stream: TerminalStream): Terminal {
  let terminal = terminals.get(stream);
  if (terminal === undefined) {
    terminal = new Terminal(stream);
    terminals.set(stream, terminal);
  }
  return terminal;
}
