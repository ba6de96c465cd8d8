/**
 * Errors the pipeline throws. The pipeline imports nothing of ours at run time, so this class
 * mirrors `InputError` from src/errors.ts (the same `name`, `code`, `final`, `hint` and
 * `exitCode`) instead of deriving from it: `isToolError` recognises it by that shape.
 */
import type { ToolError } from '../errors.js';

/** How far reading got before it stopped. */
export interface ReadProgress {
  /** Bytes read from the file (compressed bytes for a gzip file). */
  fileBytes: number;
  /** Bytes of JSON text (after gunzip). */
  bytes: number;
  /** Lines seen (NDJSON), including blank and malformed ones. */
  lines: number;
  /** Records parsed. */
  records: number;
  /** Malformed lines or array elements. */
  malformed: number;
}

export type PipelineErrorCode =
  | 'truncated_gzip'
  | 'bad_gzip'
  | 'not_json'
  | 'bad_json_array'
  | 'unmapped_fields'
  | 'read_failed'
  | 'bad_option';

export class PipelineInputError extends Error implements ToolError {
  readonly code: PipelineErrorCode;
  /** Bad input stays bad: another attempt cannot help. */
  readonly final = true;
  /** The file (or stream name) at fault. */
  readonly file: string;
  readonly progress: ReadProgress | undefined;
  readonly hint: string | undefined;
  /** The message without how far reading got, when it carries that. */
  readonly reason: string | undefined;
  readonly exitCode = 1;

  constructor(
    code: PipelineErrorCode,
    file: string,
    message: string,
    options: { progress?: ReadProgress; hint?: string; cause?: unknown; reason?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InputError';
    this.code = code;
    this.file = file;
    this.progress = options.progress;
    this.hint = options.hint;
    this.reason = options.reason;
  }
}

/** "after 1,234 bytes of JSON text, 10 lines, 9 records" */
export function describeProgress(p: ReadProgress, gzip: boolean): string {
  const parts = [
    gzip ? `${fmt(p.fileBytes)} compressed bytes (${fmt(p.bytes)} bytes of text)` : `${fmt(p.bytes)} bytes`,
  ];
  if (p.lines > 0) parts.push(`${fmt(p.lines)} lines`);
  parts.push(`${fmt(p.records)} records`);
  return parts.join(', ');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
