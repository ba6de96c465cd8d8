/**
 * Which per-user file names each input line, filled as a report is written, so the report itself
 * shows that no input user is named twice. One byte per input line (10 MB for ten million users).
 */

/** Lines named twice, listed at most. */
const LISTED = 10;

export class LineLedger {
  #owner = new Uint8Array(1 << 16);
  readonly #files: string[] = [];
  readonly #twice: string[] = [];
  #twiceCount = 0;
  readonly #unnumbered = new Map<string, number>();

  /** Records that `file` names input line `line` (a 1-based line number). */
  note(file: string, line: unknown): void {
    let f = this.#files.indexOf(file);
    if (f === -1) f = this.#files.push(file) - 1;
    if (typeof line !== 'number' || !Number.isInteger(line) || line < 1) {
      this.#unnumbered.set(file, (this.#unnumbered.get(file) ?? 0) + 1);
      return;
    }
    if (line >= this.#owner.length) {
      let size = this.#owner.length;
      while (size <= line) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#owner);
      this.#owner = grown;
    }
    const first = this.#owner[line]!;
    if (first === 0) {
      this.#owner[line] = f + 1;
      return;
    }
    this.#twiceCount++;
    if (this.#twice.length < LISTED) {
      this.#twice.push(`input line ${line} is named in ${this.#files[first - 1]!} and again in ${file}`);
    }
  }

  /** Sentences naming what is wrong; empty when every line named was named once. */
  problems(): string[] {
    const out: string[] = [];
    if (this.#twiceCount > 0) {
      out.push(
        `${this.#twiceCount} input line${this.#twiceCount === 1 ? ' is' : 's are'} named more than once: ${this.#twice.join('; ')}${this.#twiceCount > LISTED ? '; …' : ''}`,
      );
    }
    for (const [file, n] of this.#unnumbered) {
      out.push(`${n} line${n === 1 ? '' : 's'} of ${file} name${n === 1 ? 's' : ''} no input line`);
    }
    return out;
  }
}
