import type { FailureLine } from './types.js';

/** A failure code with how many users it hit, its commonest messages and a few example users. */
export interface FailureCause {
  code: string;
  count: number;
  /** The most frequent messages for this code, commonest first. */
  messages: Array<{ message: string; count: number }>;
  /** The first users that failed this way: ids and emails only. */
  examples: Array<{ user_id?: string; email?: string; line?: number; batch?: string; message: string }>;
}

export interface FailureDigestOptions {
  /** @defaultValue 3 */
  examplesPerCause?: number;
  /** Distinct messages remembered per code; keeps memory bounded on huge runs. @defaultValue 50 */
  messagesTracked?: number;
}

/** Folds failures.ndjson lines into the top failure causes, in bounded memory. */
export class FailureDigest {
  readonly #byCode = new Map<
    string,
    { count: number; messages: Map<string, number>; examples: FailureCause['examples'] }
  >();
  readonly #examples: number;
  readonly #tracked: number;

  constructor(options: FailureDigestOptions = {}) {
    this.#examples = options.examplesPerCause ?? 3;
    this.#tracked = options.messagesTracked ?? 50;
  }

  add(line: FailureLine): void {
    const code = line.code || 'unknown';
    let entry = this.#byCode.get(code);
    if (entry === undefined) {
      entry = { count: 0, messages: new Map(), examples: [] };
      this.#byCode.set(code, entry);
    }
    entry.count++;
    const seen = entry.messages.get(line.message);
    if (seen !== undefined) entry.messages.set(line.message, seen + 1);
    else if (entry.messages.size < this.#tracked) entry.messages.set(line.message, 1);
    if (entry.examples.length < this.#examples) {
      entry.examples.push({
        ...(line.user_id !== undefined && { user_id: line.user_id }),
        ...(line.email !== undefined && { email: line.email }),
        ...(line.line !== undefined && { line: line.line }),
        ...(line.batch !== undefined && { batch: line.batch }),
        message: line.message,
      });
    }
  }

  /** The `limit` causes that hit the most users, most first. */
  top(limit = 10): FailureCause[] {
    return [...this.#byCode.entries()]
      .map(([code, e]) => ({
        code,
        count: e.count,
        messages: [...e.messages.entries()]
          .map(([message, count]) => ({ message, count }))
          .sort((a, b) => b.count - a.count)
          .slice(0, 3),
        examples: e.examples,
      }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code))
      .slice(0, limit);
  }
}
