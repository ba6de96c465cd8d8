/**
 * The picture of a run (picture.ts) and what the report says around it: one bar per timed Auth0
 * job in the lane of the slot it held, how long the slots were all busy, where the time before the
 * first import went, and the timings table saying which phases overlapped.
 */
import { describe, expect, it } from 'vitest';
import { drawRun } from '../../src/report/picture.js';
import { renderHtml, renderMarkdown } from '../../src/report/render.js';
import type { RunSummary } from '../../src/report/types.js';
import { sampleSummary } from './fixtures.js';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const iso = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

type Job = RunSummary['auth0Jobs'][number];

function job(n: number, from: number, to: number, extra: Partial<Job> = {}): Job {
  return {
    batch: `run-2024-05-01-a-${n}`,
    jobId: `job_${String(n).padStart(16, 'x')}`,
    status: 'completed',
    summary: { inserted: 100, updated: 0, failed: 0, total: 100 },
    users: 100,
    submittedAt: iso(from),
    endedAt: iso(to),
    ...extra,
  };
}

/** A sweep of 20 s: export and snapshot side by side, the plan, then the import on 2 slots. */
function timed(jobs: Job[], overrides: Partial<RunSummary> = {}): RunSummary {
  const base = sampleSummary();
  return sampleSummary({
    importSlots: 2,
    auth0Jobs: jobs,
    timings: {
      startedAt: iso(0),
      finishedAt: iso(20),
      phases: { export: 4000, snapshot: 5000, plan: 2000, import: 12_000 },
      spans: {
        export: { start: iso(0), end: iso(4) },
        snapshot: { start: iso(0), end: iso(5) },
        plan: { start: iso(5), end: iso(7) },
        import: { start: iso(6), end: iso(18) },
      },
    },
    files: base.files,
    ...overrides,
  });
}

/** The lane (0, 1, …) of each job bar, by batch, from the bars' y. */
function lanes(svg: string): Record<string, number> {
  const bars = [...svg.matchAll(/<rect class="job" data-batch="([^"]+)" x="[^"]+" y="([\d.]+)"/g)];
  const ys = [...new Set(bars.map((b) => Number(b[2])))].sort((a, b) => a - b);
  return Object.fromEntries(bars.map((b) => [b[1]!, ys.indexOf(Number(b[2]))]));
}

describe('the picture of a run', () => {
  it('draws each timed job in the first slot free when it was submitted', () => {
    const picture = drawRun(
      timed([job(0, 6, 16), job(1, 6.2, 11), job(2, 11, 18), job(3, 16, 18, { status: 'failed' })]),
    )!;
    expect(picture.bars).toBe(4);
    expect(lanes(picture.svg)).toEqual({
      'run-2024-05-01-a-0': 0,
      'run-2024-05-01-a-1': 1,
      'run-2024-05-01-a-2': 1,
      'run-2024-05-01-a-3': 0,
    });
    expect(picture.svg).toContain('>slot 1</text>');
    expect(picture.svg).toContain('>slot 2</text>');
    expect(picture.svg).not.toContain('>slot 3</text>');
    // A failed job in the failure colour, and the legend says so.
    expect(picture.svg).toMatch(/data-batch="run-2024-05-01-a-3"[^>]*fill="#cf222e"/);
    expect(picture.svg).toContain('>job failed</text>');
  });

  it('says how long every slot was busy, and where the time before the first import went', () => {
    const { facts } = drawRun(timed([job(0, 6, 16), job(1, 6.2, 11), job(2, 11, 18)]))!;
    expect(facts).toEqual([
      'The first import job was submitted 6.0 s after the start, after export 4.0 s, snapshot 5.0 s, plan 1.0 s (export and snapshot at the same time).',
      // Both busy from 6.2 s to 16 s of the 6 s to 18 s: 9.8 of 12 s.
      'Both import slots were busy 82 % of the time from the first submission to the end of the last job (12.0 s, 6 s to 18 s).',
      '300 users imported by 3 jobs, 25 users/s.',
    ]);
  });

  it('shows an idle slot as an empty lane', () => {
    const picture = drawRun(timed([job(0, 6, 11), job(1, 11, 18)]))!;
    expect(Object.values(lanes(picture.svg))).toEqual([0, 0]);
    expect(picture.svg).toContain('>slot 2</text>');
    expect(picture.facts[1]).toMatch(/^Both import slots were busy 0 % of the time/);
  });

  it('draws nothing for a report that recorded no times, and says so for a dry run', () => {
    expect(drawRun(sampleSummary())).toBeUndefined();
    expect(renderHtml({ summary: sampleSummary(), causes: [], dir: 'r' })).not.toContain('<svg');
    const dry = drawRun(timed([], { dryRun: true }))!;
    expect(dry.bars).toBe(0);
    expect(dry.facts).toEqual(['A dry run: no import job was submitted.']);
  });

  it('is SVG drawing only, with what came from data escaped', () => {
    const svg = drawRun(timed([job(0, 6, 16, { batch: 'b"><script>alert(1)</script>' })]))!.svg;
    const tags = new Set([...svg.matchAll(/<([a-z]+)/gi)].map((m) => m[1]!));
    expect([...tags].sort()).toEqual([
      'line',
      'polygon',
      'polyline',
      'rect',
      'style',
      'svg',
      'text',
      'title',
    ]);
    expect(svg).not.toMatch(/href|url\(|@import|<script/i);
    expect(svg).toContain('data-batch="b&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
  });

  it('is in the HTML report, its facts in both; the timings say which phases overlapped', () => {
    const summary = timed([job(0, 6, 16), job(1, 6.2, 11)]);
    const html = renderHtml({ summary, causes: [], dir: 'r' });
    expect(html).toContain('<h2>The run over time</h2>\n<figure><svg');
    expect(html.match(/<rect class="job"/g)).toHaveLength(2);
    const md = renderMarkdown({ summary, causes: [], dir: 'r' });
    expect(md).toContain('_The picture of the run is in summary.html._');
    expect(md).toContain('- Both import slots were busy');
    expect(md).toContain('| export | 0 ms | 4.0 s | 4.0 s |');
    expect(md).toContain('| import | 6.0 s | 18.0 s | 12.0 s |');
    expect(md).toContain(
      'The phases overlap (export and snapshot, plan and import ran at the same time), so their times add up to more than the run took (20.0 s).',
    );
  });
});
