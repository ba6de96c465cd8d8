/** The summary's relations section: rendered in Markdown and HTML (escaped), and checked to add up. */
import { describe, expect, it } from 'vitest';
import { checkSummary } from '../../src/report/check.js';
import { renderHtml, renderMarkdown } from '../../src/report/render.js';
import type { RelationsSection } from '../../src/report/types.js';
import { sampleSummary } from './fixtures.js';

function section(overrides: Partial<RelationsSection> = {}): RelationsSection {
  return {
    dryRun: false,
    counts: {
      roles_created: { total: 2, added: 2, already_present: 0, pending_user: 0, failed: 0, failures: {} },
      role_assignments: {
        total: 10,
        added: 5,
        already_present: 2,
        pending_user: 2,
        failed: 1,
        failures: { limit_roles_per_user: 1 },
      },
    },
    calls: 4,
    reads: { old: 20, new: 10 },
    findings: {
      total: 2,
      byType: { missing_api: 1, catalog_difference: 1 },
      listed: [
        {
          type: 'missing_api',
          subject: 'https://billing.example.com',
          detail: 'The new tenant has no API "https://billing.example.com": 1 permission(s) wait on it.',
          waiting: ['role "<b>billing</b>": read:invoices'],
        },
        { type: 'catalog_difference', subject: 'role "admin"', detail: 'lacks 1 of its 2 permissions' },
      ],
    },
    pending: 1,
    files: {
      plan: 'relations-plan.ndjson',
      added: 'relations-added.ndjson',
      failures: 'relations-failures.ndjson',
      pending: 'relations-pending.ndjson',
      findings: 'relations-findings.ndjson',
    },
    ...overrides,
  };
}

describe('the relations section', () => {
  it('shows the counts per kind, the failures by code, the missing APIs and what waits on them', () => {
    const summary = { ...sampleSummary(), relations: section() };
    const md = renderMarkdown({ summary, causes: [], dir: 'reports/r' });
    expect(md).toContain('## Relations');
    expect(md).toContain(
      "| `role_assignments` | 10 | 5 | 2 | 2 | 1 (limit\\_roles\\_per\\_user 1) | users' roles |",
    );
    expect(md).toContain('1 relation line waits for users not yet in the new tenant');
    expect(md).toContain('### APIs missing in the new tenant');
    expect(md).toContain('Waiting: role "\\<b\\>billing\\</b\\>": read:invoices');
    expect(md).toContain('30 list pages read (old tenant 20, new 10), 4 API calls sent');
    const html = renderHtml({ summary, causes: [], dir: 'reports/r' });
    expect(html).toContain('Relations');
    expect(html).not.toContain('<b>billing</b>');
    expect(checkSummary(summary)).toEqual([]);
  });

  it('says "would add" in a dry run', () => {
    const summary = { ...sampleSummary(), dryRun: true, relations: section({ dryRun: true }) };
    const md = renderMarkdown({ summary, causes: [], dir: 'reports/r' });
    expect(md).toContain('| would add |');
    expect(md).toContain('planned (dry run: none sent)');
  });

  it('names a kind whose outcomes do not add up', () => {
    const bad = section();
    bad.counts.role_assignments!.added = 6;
    const problems = checkSummary({ ...sampleSummary(), relations: bad });
    expect(problems).toContain('relations role_assignments: total 10 but outcomes add up to 11');
  });
});
