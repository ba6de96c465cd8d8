/**
 * A run's summary.html in a real browser (headless Chromium, Debian's package `chromium`): its
 * picture draws one bar per Auth0 import job of the run, every word of its commands stays whole
 * on a narrow screen, and its screenshot is not blank. Skipped, saying so, where no Chromium is
 * installed.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepCommand } from '../../src/commands/sweep.js';
import type { RunSummary } from '../../src/report/types.js';
import { FAST, startHarness, type Harness } from '../jobs/harness.js';

const run = promisify(execFile);

async function findChromium(): Promise<string | undefined> {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    try {
      const { stdout } = await run('sh', ['-c', `command -v ${name}`]);
      if (stdout.trim() !== '') return stdout.trim();
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

/** Measures the page once it has loaded and leaves the result in the DOM for --dump-dom. */
const MEASURE = `<script>
addEventListener('load', () => {
  const svg = document.querySelector('svg.run');
  const box = svg.getBoundingClientRect();
  const bars = [...svg.querySelectorAll('rect.job')];
  const visible = bars.filter((b) => {
    const r = b.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.left >= box.left - 1 && r.right <= box.right + 1;
  }).length;
  const words = [];
  const broken = [];
  for (const code of document.querySelectorAll('code')) {
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        words.push(m[0]);
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  const codeLines = [...document.querySelectorAll('li code')].map((c) =>
    new Set([...c.getClientRects()].map((r) => Math.round(r.top))).size,
  );
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = encodeURIComponent(JSON.stringify({
    width: innerWidth,
    bars: bars.map((b) => b.dataset.batch),
    visible,
    words: words.length,
    broken,
    wrappedCommands: codeLines.filter((n) => n > 1).length,
  }));
  document.body.append(out);
});
</script>`;

interface Measured {
  width: number;
  bars: string[];
  visible: number;
  words: number;
  broken: string[];
  wrappedCommands: number;
}

describe('summary.html in headless Chromium', () => {
  let chromium: string | undefined;
  let h: Harness | undefined;
  let dir: string;
  let summary: RunSummary;
  let html: string;

  beforeAll(async () => {
    chromium = await findChromium();
    if (chromium === undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'report-browser-'));
    // Small batches, so the run has several Auth0 jobs sharing the two import slots.
    h = await startHarness({ sim: { seedOld: 400 }, env: { BATCH_BYTES: '12000' } });
    let runId = '';
    const code = await sweepCommand(
      h.config,
      {},
      {
        settings: FAST,
        out: { write: () => true },
        progressStream: { write: () => true },
        onRun: (id) => (runId = id),
      },
    );
    expect(code).toBe(0);
    const folder = join(h.reportsDir, runId);
    summary = JSON.parse(await readFile(join(folder, 'summary.json'), 'utf8')) as RunSummary;
    html = join(dir, 'summary.html');
    await copyFile(join(folder, 'summary.html'), html);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Runs Chromium on a page with its own profile folder (several may run at once). */
  async function browse(args: string[], page: string): Promise<string> {
    const profile = await mkdtemp(join(dir, 'profile-'));
    const { stdout } = await run(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        '--virtual-time-budget=10000',
        ...args,
        `file://${page}`,
      ],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  }

  it('draws a bar per Auth0 import job, and keeps the words of commands whole on a narrow screen', async (ctx) => {
    if (chromium === undefined) ctx.skip('no Chromium to render the report (Debian package chromium)');
    const timed = summary.auth0Jobs.filter((j) => j.submittedAt !== undefined && j.endedAt !== undefined);
    expect(summary.auth0Jobs.length).toBeGreaterThan(2);
    expect(timed).toHaveLength(summary.auth0Jobs.length);

    const page = join(dir, 'measure.html');
    await writeFile(page, (await readFile(html, 'utf8')).replace('</body>', `${MEASURE}</body>`));
    const dom = await browse(['--window-size=500,4000', '--dump-dom'], page);
    const raw = /<pre id="measured">([^<]*)<\/pre>/.exec(dom)?.[1];
    expect(raw, 'the measuring script left no result').toBeDefined();
    const measured = JSON.parse(decodeURIComponent(raw!)) as Measured;
    expect(measured.width).toBeLessThanOrEqual(500);
    expect(measured.bars.sort()).toEqual(summary.auth0Jobs.map((j) => j.batch).sort());
    expect(measured.visible).toBe(summary.auth0Jobs.length);
    // Commands do wrap on this screen, at their spaces only.
    expect(measured.wrappedCommands).toBeGreaterThan(0);
    expect(measured.words).toBeGreaterThan(20);
    expect(measured.broken).toEqual([]);
  });

  it('shows a picture that is not blank', async (ctx) => {
    if (chromium === undefined) ctx.skip('no Chromium to render the report (Debian package chromium)');
    const shot = join(dir, 'summary.png');
    await browse(['--window-size=1000,2600', `--screenshot=${shot}`], html);
    const png = PNG.sync.read(await readFile(shot));
    expect(png.width).toBe(1000);
    let ink = 0;
    let bars = 0;
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      if (r < 235 || g < 235 || b < 235) ink++;
      // The bars' green (#2da44e), as drawn.
      if (Math.abs(r - 0x2d) < 12 && Math.abs(g - 0xa4) < 12 && Math.abs(b - 0x4e) < 12) bars++;
      colours.add((r >> 4) * 256 + (g >> 4) * 16 + (b >> 4));
    }
    const pixels = png.width * png.height;
    expect(ink / pixels).toBeGreaterThan(0.03);
    expect(bars).toBeGreaterThan(200);
    expect(colours.size).toBeGreaterThan(50);
  });
});
