/**
 * The picture of a run in summary.html: one inline SVG drawn from the times summary.json
 * records, on one time axis from the run's start. From top to bottom: the phases (where the time
 * before the first import went), the import slots (each Auth0 job a bar from its submission to its
 * end, in a lane per slot, so an idle slot shows as a gap) and the users imported over time. No
 * script and no external asset: it opens offline, and each bar's `<title>` is its tooltip.
 */
import { formatDuration, htmlEscape, n } from './format.js';
import type { RunSummary } from './types.js';

export interface RunPicture {
  /** The `<svg>` element. */
  svg: string;
  /** What it shows, in sentences: for summary.md and for whoever does not see the picture. */
  facts: string[];
  /** Jobs drawn as bars (those with both times recorded). */
  bars: number;
}

interface Span {
  name: string;
  start: number;
  end: number;
}

interface JobBar {
  batch: string;
  jobId: string;
  status: string;
  users: number | undefined;
  imported: number;
  start: number;
  end: number;
  lane: number;
}

const PHASES = ['export', 'snapshot', 'plan', 'import', 'relations', 'report'];
const PHASE_COLOURS: Record<string, string> = {
  export: '#8250df',
  snapshot: '#bf3989',
  plan: '#0969da',
  import: '#1a7f37',
  relations: '#9a6700',
  report: '#6e7781',
};
const JOB_COLOURS: Record<string, { fill: string; label: string }> = {
  completed: { fill: '#2da44e', label: 'job completed' },
  failed: { fill: '#cf222e', label: 'job failed' },
  other: { fill: '#d4a72c', label: 'job expired or unknown' },
};

const WIDTH = 960;
const LEFT = 104;
const RIGHT = 28;
const PLOT = WIDTH - LEFT - RIGHT;

/** `1:05` (m:ss), `1:02:05` (h:mm:ss), or `45 s` on a run shorter than a minute. */
function clock(ms: number, short: boolean): string {
  if (short) return `${Math.round(ms / 1000)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A tick step giving at most about eight ticks over `total` ms. */
function tickStep(total: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200];
  for (const s of steps) if (total / (s * 1000) <= 8) return s * 1000;
  return 86_400_000;
}

/** A round count step for the users axis. */
function countStep(max: number): number {
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/** Gives each job the first lane free at its submission: as many lanes as slots were held at once. */
function assignLanes(jobs: Array<Omit<JobBar, 'lane'>>): JobBar[] {
  const laneEnds: number[] = [];
  return [...jobs]
    .sort((a, b) => a.start - b.start || a.end - b.end)
    .map((job) => {
      let lane = laneEnds.findIndex((end) => end <= job.start);
      if (lane === -1) lane = laneEnds.push(job.end) - 1;
      else laneEnds[lane] = job.end;
      return { ...job, lane };
    });
}

/** The share of [from, to] during which at least `slots` jobs ran. */
function fullShare(jobs: JobBar[], slots: number, from: number, to: number): number {
  if (to <= from) return 0;
  const edges = jobs.flatMap((j) => [
    { t: j.start, d: 1 },
    { t: j.end, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let running = 0;
  let last = from;
  let full = 0;
  for (const e of edges) {
    if (running >= slots) full += e.t - last;
    running += e.d;
    last = e.t;
  }
  return full / (to - from);
}

const pct = (x: number): string => `${Math.round(x * 100)} %`;

/** The picture of `summary`'s run; undefined when it recorded no times to draw (older reports). */
export function drawRun(summary: RunSummary): RunPicture | undefined {
  const t0 = Date.parse(summary.timings.startedAt);
  const at = (iso: string | undefined): number | undefined => {
    if (iso === undefined) return undefined;
    const t = Date.parse(iso);
    return Number.isNaN(t) ? undefined : t - t0;
  };
  const spans: Span[] = [];
  for (const [name, span] of Object.entries(summary.timings.spans ?? {})) {
    const start = at(span.start);
    const end = at(span.end);
    if (start !== undefined && end !== undefined && end >= start) spans.push({ name, start, end });
  }
  spans.sort((a, b) => rank(a.name) - rank(b.name) || a.start - b.start);
  const jobs = assignLanes(
    summary.auth0Jobs.flatMap((j) => {
      const start = at(j.submittedAt);
      const end = at(j.endedAt);
      if (start === undefined || end === undefined || end < start) return [];
      const imported = j.summary === undefined ? 0 : j.summary.inserted + j.summary.updated;
      return [{ batch: j.batch, jobId: j.jobId, status: j.status, users: j.users, imported, start, end }];
    }),
  );
  if (spans.length === 0 && jobs.length === 0) return undefined;

  const finished = at(summary.timings.finishedAt);
  const total = Math.max(1000, finished ?? 0, ...spans.map((s) => s.end), ...jobs.map((j) => j.end));
  const short = total < 60_000;
  const x = (t: number): number => LEFT + (Math.max(0, Math.min(t, total)) / total) * PLOT;
  const slots = Math.max(
    summary.importSlots ?? 0,
    jobs.length === 0 ? 0 : 1 + Math.max(...jobs.map((j) => j.lane)),
  );
  const firstImport = jobs.length === 0 ? undefined : Math.min(...jobs.map((j) => j.start));
  const lastEnd = jobs.length === 0 ? undefined : Math.max(...jobs.map((j) => j.end));
  const importedTotal = jobs.reduce((sum, j) => sum + j.imported, 0);

  const out: string[] = [];
  let y = 8;
  const heading = (text: string): void => {
    out.push(`<text x="0" y="${y + 12}" class="h">${htmlEscape(text)}</text>`);
    y += 22;
  };
  const laneLabel = (text: string, cy: number): void => {
    out.push(`<text x="${LEFT - 8}" y="${cy + 4}" class="l" text-anchor="end">${htmlEscape(text)}</text>`);
  };
  const plotTop = y;

  // Phases.
  if (spans.length > 0) {
    heading('Phases');
    for (const s of spans) {
      const h = 14;
      laneLabel(s.name, y + h / 2);
      const w = Math.max(1.5, x(s.end) - x(s.start));
      out.push(
        `<rect class="phase" x="${f(x(s.start))}" y="${y}" width="${f(w)}" height="${h}" rx="2" fill="${PHASE_COLOURS[s.name] ?? '#6e7781'}"><title>${htmlEscape(`${s.name}: ${clock(s.start, short)} to ${clock(s.end, short)} (${formatDuration(s.end - s.start)})`)}</title></rect>`,
      );
      const label = formatDuration(s.end - s.start);
      const inside = w > label.length * 7 + 8;
      out.push(
        `<text x="${f(inside ? x(s.start) + 4 : x(s.start) + w + 4)}" y="${y + 11}" class="${inside ? 'v in' : 'v'}">${htmlEscape(label)}</text>`,
      );
      y += h + 6;
    }
    y += 8;
  }

  // Import slots.
  heading(
    jobs.length === 0
      ? 'Import slots: no Auth0 import job ran'
      : `Import slots: ${n(jobs.length)} Auth0 import job${jobs.length === 1 ? '' : 's'} on ${slots} slot${slots === 1 ? '' : 's'}`,
  );
  const laneH = 22;
  const slotsTop = y;
  const separate = jobs.length > 0 && PLOT / jobs.length > 6;
  for (let lane = 0; lane < Math.max(slots, 1); lane++) {
    const ly = slotsTop + lane * (laneH + 6);
    laneLabel(`slot ${lane + 1}`, ly + laneH / 2);
    out.push(`<rect class="lane" x="${LEFT}" y="${ly}" width="${PLOT}" height="${laneH}" fill="#f6f8fa"/>`);
  }
  for (const j of jobs) {
    const colour = JOB_COLOURS[j.status] ?? JOB_COLOURS.other!;
    const ly = slotsTop + j.lane * (laneH + 6);
    const width = Math.max(1, x(j.end) - x(j.start));
    const tip = `batch ${j.batch} · ${j.jobId} · ${j.users === undefined ? '' : `${n(j.users)} users · `}${j.status} · ${clock(j.start, short)} to ${clock(j.end, short)} (${formatDuration(j.end - j.start)})`;
    out.push(
      `<rect class="job" data-batch="${htmlEscape(j.batch)}" x="${f(x(j.start))}" y="${ly}" width="${f(width)}" height="${laneH}" fill="${colour.fill}"${separate ? ' stroke="#fff" stroke-width="1"' : ''}><title>${htmlEscape(tip)}</title></rect>`,
    );
    const label = j.users === undefined ? undefined : `${n(j.users)} users`;
    if (label !== undefined && width > label.length * 6.5 + 10) {
      out.push(`<text x="${f(x(j.start) + 6)}" y="${ly + 15}" class="v in">${htmlEscape(label)}</text>`);
    }
  }
  y = slotsTop + Math.max(slots, 1) * (laneH + 6) + 8;

  // Users imported over time.
  if (jobs.length > 0) {
    heading(`Users imported: ${n(importedTotal)}`);
    const h = 96;
    const bottom = y + h;
    const max = Math.max(1, importedTotal);
    const step = countStep(max);
    const yOf = (count: number): number => bottom - (count / Math.max(max, step)) * h;
    for (let c = 0; c <= max; c += step) {
      out.push(`<line x1="${LEFT}" x2="${LEFT + PLOT}" y1="${f(yOf(c))}" y2="${f(yOf(c))}" class="g"/>`);
      laneLabel(n(c), yOf(c));
    }
    let count = 0;
    const points: string[] = [`${f(x(0))},${f(yOf(0))}`];
    for (const j of [...jobs].sort((a, b) => a.end - b.end)) {
      points.push(`${f(x(j.end))},${f(yOf(count))}`);
      count += j.imported;
      points.push(`${f(x(j.end))},${f(yOf(count))}`);
    }
    points.push(`${f(x(total))},${f(yOf(count))}`);
    out.push(
      `<polygon points="${points.join(' ')} ${f(x(total))},${f(bottom)} ${f(x(0))},${f(bottom)}" fill="#0969da" fill-opacity="0.12"/>`,
      `<polyline class="imported" points="${points.join(' ')}" fill="none" stroke="#0969da" stroke-width="2"/>`,
    );
    y = bottom + 8;
  }

  // The time axis, with grid lines through every panel.
  const axisY = y + 4;
  const grid: string[] = [];
  const tick = tickStep(total);
  for (let t = 0; t <= total + 1; t += tick) {
    grid.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${plotTop}" y2="${axisY}" class="g"/>`);
    out.push(
      `<text x="${f(x(t))}" y="${axisY + 16}" class="l" text-anchor="middle">${clock(t, short)}</text>`,
    );
  }
  out.push(
    `<text x="${LEFT + PLOT}" y="${axisY + 34}" class="l" text-anchor="end">time since the start${short ? '' : ' (m:ss)'}</text>`,
  );
  if (firstImport !== undefined) {
    grid.push(
      `<line x1="${f(x(firstImport))}" x2="${f(x(firstImport))}" y1="${plotTop}" y2="${axisY}" class="mark"/>`,
    );
    out.push(
      `<text x="${f(x(firstImport) + 4)}" y="${plotTop + 12}" class="l">first import job at ${clock(firstImport, short)}</text>`,
    );
  }
  let legendX = 0;
  const legendY = axisY + 34;
  const kinds = new Set(jobs.map((j) => (JOB_COLOURS[j.status] === undefined ? 'other' : j.status)));
  for (const key of ['completed', 'failed', 'other']) {
    if (key !== 'completed' && !kinds.has(key)) continue;
    const c = JOB_COLOURS[key]!;
    out.push(
      `<rect x="${legendX}" y="${legendY - 9}" width="10" height="10" fill="${c.fill}"/>`,
      `<text x="${legendX + 14}" y="${legendY}" class="l">${c.label}</text>`,
    );
    legendX += 14 + c.label.length * 7 + 16;
  }
  const height = legendY + 10;

  const facts = describe(summary, spans, jobs, slots, firstImport, lastEnd, importedTotal, short);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" class="run" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="run-picture-title">` +
    `<title id="run-picture-title">${htmlEscape(facts.join(' '))}</title>` +
    `<style>${SVG_CSS}</style>` +
    grid.join('') +
    out.join('') +
    '</svg>';
  return { svg, facts, bars: jobs.length };
}

// Text has a white halo, so the grid and the first-import line never cross a word.
const SVG_CSS =
  'text{font:12px system-ui,-apple-system,"Segoe UI",sans-serif;fill:#57606a;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}' +
  '.h{font-size:13px;font-weight:600;fill:#1f2328}.v{font-size:11px;fill:#1f2328}.v.in{fill:#fff;stroke:none}' +
  '.g{stroke:#d0d7de;stroke-width:1}.mark{stroke:#1f2328;stroke-width:1;stroke-dasharray:4 3}';

function describe(
  summary: RunSummary,
  spans: Span[],
  jobs: JobBar[],
  slots: number,
  firstImport: number | undefined,
  lastEnd: number | undefined,
  importedTotal: number,
  short: boolean,
): string[] {
  const facts: string[] = [];
  if (firstImport !== undefined && lastEnd !== undefined) {
    const before = spans
      .filter((s) => s.start < firstImport && s.name !== 'import')
      .map((s) => `${s.name} ${formatDuration(Math.min(s.end, firstImport) - s.start)}`);
    const together = overlapping(spans.filter((s) => s.start < firstImport && s.name !== 'import'));
    facts.push(
      `The first import job was submitted ${formatDuration(firstImport)} after the start` +
        (before.length > 0
          ? `, after ${before.join(', ')}${together.length > 0 ? ` (${together.join('; ')} at the same time)` : ''}.`
          : '.'),
    );
    const share = fullShare(jobs, slots, firstImport, lastEnd);
    const busy =
      slots === 1
        ? 'The import slot was busy'
        : slots === 2
          ? 'Both import slots were busy'
          : `All ${slots} import slots were busy`;
    facts.push(
      `${busy} ${pct(share)} of the time from the first submission to the end of the last job (${formatDuration(lastEnd - firstImport)}, ${clock(firstImport, short)} to ${clock(lastEnd, short)}).`,
    );
    const seconds = (lastEnd - firstImport) / 1000;
    facts.push(
      `${n(importedTotal)} users imported by ${n(jobs.length)} job${jobs.length === 1 ? '' : 's'}${seconds > 0 ? `, ${n(Math.round((importedTotal / seconds) * 10) / 10)} users/s` : ''}.`,
    );
  } else {
    facts.push(
      summary.dryRun
        ? 'A dry run: no import job was submitted.'
        : 'No import job ran (no batch reached Auth0, or the report has no job times).',
    );
  }
  return facts;
}

/** `export and snapshot`: pairs of spans that ran at the same time for more than a moment. */
export function overlapping(spans: Array<{ name: string; start: number; end: number }>): string[] {
  const pairs: string[] = [];
  for (let i = 0; i < spans.length; i++) {
    for (let k = i + 1; k < spans.length; k++) {
      const a = spans[i]!;
      const b = spans[k]!;
      if (Math.min(a.end, b.end) - Math.max(a.start, b.start) > 0) pairs.push(`${a.name} and ${b.name}`);
    }
  }
  return pairs;
}

function rank(phase: string): number {
  const i = PHASES.indexOf(phase);
  return i === -1 ? PHASES.length : i;
}

/** A coordinate with one decimal. */
function f(v: number): string {
  return String(Math.round(v * 10) / 10);
}
