import { describe, expect, it } from 'vitest';
import { FailureDigest } from '../../src/report/causes.js';
import { formatDuration } from '../../src/report/format.js';
import { renderHtml, renderMarkdown, type RenderInput } from '../../src/report/render.js';
import type { FailureLine } from '../../src/report/types.js';
import { sampleSummary } from './fixtures.js';

function input(overrides: Partial<RenderInput> = {}, lines: FailureLine[] = []): RenderInput {
  const digest = new FailureDigest();
  for (const l of lines) digest.add(l);
  return { summary: sampleSummary(), causes: digest.top(), dir: 'reports/run-2024-05-01-a', ...overrides };
}

const hostile: FailureLine[] = [
  {
    user_id: 'auth0|<script>alert(1)</script>',
    email: 'x"onmouseover="alert(1)@example.com',
    code: 'INVALID_FORMAT',
    message: 'bad | pipe <img src=x onerror=alert(1)> & `tick` *star* [link](http://evil.example)',
  },
  { user_id: 'auth0|b', email: 'b@example.com', code: 'INVALID_FORMAT', message: 'bad | pipe' },
  { user_id: 'auth0|c', email: 'c@example.com', code: 'batch_failed', message: '503' },
];

describe('renderMarkdown', () => {
  it('shows the counts by outcome, reason and code, the jobs, the timings and the next steps', () => {
    const md = renderMarkdown(input({}, hostile));
    expect(md).toContain('| imported | 72 | 72.0 % | inserted 72, updated 0 |');
    expect(md).toContain('| already migrated | 20 | 20.0 % |  |');
    expect(md).toContain('| **total** | **100** |  |  |');
    expect(md).toContain('| `user_id` | 16 | 80.0 % | same user id in the new tenant |');
    expect(md).toContain('- `imported.ndjson.gz` (72 lines): one line per imported user');
    expect(md).toContain(
      '- `already-migrated.ndjson.gz` (20 lines): one line per user already in the new tenant',
    );
    expect(md).toContain('need a new password (`password_reset` in imported.ndjson.gz)');
    expect(md).toContain('| `not_database_user` | 4 | 80.0 % |');
    expect(md).toContain('| `INVALID_FORMAT` | 2 | 66.7 % |');
    expect(md).toContain('| `run-2024-05-01-a-0` | `job_aaaaaaaaaaaaaaaa` | completed | 40 | 0 | 2 | 42 |');
    expect(md).toContain('| import |  |  | 10 min 50 s |');
    expect(md).toContain('**Finished:** 2024-05-01T10:12:30.000Z (took 12 min 30 s)');
    expect(md).toContain('`auth0-migrate import reports/run-2024-05-01-a/retry.ndjson`');
    expect(md).toContain('`auth0-migrate resets run-2024-05-01-a --send`');
    // Causes: most users first, each with its messages and example users.
    expect(md.indexOf('### `INVALID_FORMAT`: 2 users')).toBeLessThan(
      md.indexOf('### `batch_failed`: 1 user'),
    );
    expect(md).toContain('- `auth0|b` (b@example.com): bad \\| pipe');
  });

  it('escapes what came from data, so it cannot break a table or inject markup', () => {
    const md = renderMarkdown(input({}, hostile));
    expect(md).toContain(
      'bad \\| pipe \\<img src=x onerror=alert(1)\\> & \\`tick\\` \\*star\\* \\[link\\](http://evil.example)',
    );
    const summary = sampleSummary({ failed: { 'A|B': 2, batch_failed: 1 } });
    const table = renderMarkdown(input({ summary }))
      .split('\n')
      .find((l) => l.includes('A\\|B'));
    expect(table).toBe('| `A\\|B` | 2 | 66.7 % |  |');
  });

  it('says what a dry run or a failed run means, and carries the hash file into the retry command', () => {
    const dry = renderMarkdown(input({ summary: sampleSummary({ dryRun: true }) }));
    expect(dry).toContain('| would be imported | 72 |');
    expect(dry).toContain('This was a dry run.');
    expect(dry).not.toContain('resets run-2024-05-01-a --send');
    const failed = renderMarkdown(
      input({
        summary: sampleSummary({
          status: 'failed',
          error: 'Redis went away',
          input: { hashesFile: 'my hashes.ndjson' },
        }),
      }),
    );
    expect(failed).toContain('> **The run could not finish**');
    expect(failed).toContain('> - Redis went away');
    expect(failed).toContain('`--run-id run-2024-05-01-a`');
    expect(failed).toContain(
      "`auth0-migrate import reports/run-2024-05-01-a/retry.ndjson --hashes 'my hashes.ndjson'`",
    );
  });

  it('puts accounting problems first', () => {
    const s = sampleSummary();
    s.counts.total = 99;
    const md = renderMarkdown(input({ summary: s }));
    expect(md.indexOf('The accounting does not add up')).toBeLessThan(md.indexOf('## Where every user went'));
    expect(md).toContain('counts.total is 99 but imported 72');
  });

  it('has a clean outcome when nothing is left to do', () => {
    const s = sampleSummary({
      counts: { total: 5, imported: 5, already_migrated: 0, skipped: 0, failed: 0 },
      imported: { inserted: 5, updated: 0 },
      already_migrated: {},
      skipped: {},
      failed: {},
      passwordResets: 0,
    });
    const md = renderMarkdown(input({ summary: s }));
    expect(md).toContain('Nothing to do: every user is in the new tenant.');
    expect(md).not.toContain('Top failure causes');
  });
});

describe('renderHtml', () => {
  it('is one self-contained document with everything escaped', () => {
    const html = renderHtml(input({}, hostile));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Only these elements and attributes: nothing that loads or runs anything.
    const tags = new Set([...html.matchAll(/<\/?([a-z0-9!]+)/gi)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(
      [
        '!doctype',
        'body',
        'code',
        'h1',
        'h2',
        'h3',
        'head',
        'html',
        'li',
        'meta',
        'p',
        'span',
        'strong',
        'style',
        'table',
        'tbody',
        'td',
        'th',
        'thead',
        'title',
        'tr',
        'ul',
      ].sort(),
    );
    const attributes = new Set(
      [...html.matchAll(/<[a-z0-9]+((?:\s+[a-z-]+="[^"]*")*)\s*>/gi)].flatMap((m) =>
        [...m[1]!.matchAll(/\s([a-z-]+)="[^"]*"/gi)].map((a) => a[1]!),
      ),
    );
    expect([...attributes].sort()).toEqual(['charset', 'class', 'content', 'lang', 'name']);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain(
      '<code><span class="w">auth0|&#60;script&#62;alert(1)&#60;/script&#62;</span></code>',
    );
    expect(html).toContain('x&#34;onmouseover=&#34;alert(1)@example.com');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62; &#38; `tick`');
    expect(html).toContain('<td class="n">72</td>');
    expect(html).toContain('<title>auth0-migrate sweep run-2024-05-01-a</title>');
  });
});

describe('formatDuration', () => {
  it('reads like a person would say it', () => {
    expect([0, 950, 4200, 65_000, 3_725_000].map(formatDuration)).toEqual([
      '0 ms',
      '950 ms',
      '4.2 s',
      '1 min 05 s',
      '1 h 02 min',
    ]);
  });
});
