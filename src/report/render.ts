/**
 * summary.md and summary.html from summary.json (and the failure causes read from failures.ndjson).
 * Both are built from one document model so they always say the same thing. Everything that came
 * from a tenant or an input file is escaped; the HTML is one file with no external assets.
 */
import type { FailureCause } from './causes.js';
import { checkSummary } from './check.js';
import { REPORT_FILES } from './files.js';
import { count, formatDuration, htmlEscape, n } from './format.js';
import { drawRun, overlapping } from './picture.js';
import type { PerUserFile, RunSummary } from './types.js';

export interface RenderInput {
  summary: RunSummary;
  /** Top failure causes (FailureDigest over failures.ndjson); empty when none failed. */
  causes: FailureCause[];
  /** The run's folder as the operator should type it in the next-steps commands. */
  dir: string;
}

type Inline = string | { code: string } | { strong: string };
type Block =
  | { kind: 'h1' | 'h2' | 'h3'; text: Inline[] }
  | { kind: 'p'; text: Inline[] }
  | { kind: 'list'; items: Inline[][] }
  | { kind: 'warn'; title: string; items: string[] }
  | { kind: 'table'; head: string[]; rows: Inline[][][]; numeric: boolean[] }
  /** Drawn in the HTML only (an inline SVG); summary.md says where to see it. */
  | { kind: 'figure'; svg: string };

const SKIP_REASONS: Record<string, string> = {
  not_database_user: 'not a user of the database connection (social or enterprise login)',
  no_email: 'no email address; Auth0 bulk import needs one',
  invalid_email: 'the email address is not valid',
  duplicate_in_export: 'the same user appears twice in the input',
  malformed_line: 'the input line is not valid JSON',
  schema_invalid: "does not fit Auth0's import schema after conversion",
  blocked_excluded: 'blocked in the old tenant and left out',
  too_deep: 'nested more than 100 levels deep; Auth0 stores no such profile',
  invalid_metadata_key: 'a metadata field name holds "." or "$", which Auth0 refuses',
  profile_too_large: "larger than Auth0's profile size limit (MAX_PROFILE_BYTES)",
  mfa_factors_invalid: "the user's line of the MFA file fails the import schema's mfa_factors",
};

const FAILURE_CODES: Record<string, string> = {
  batch_failed: 'the batch could not be submitted after its retries',
  job_failed: 'Auth0 failed the whole import job',
  job_expired: 'the Auth0 job expired before it finished',
  INVALID_FORMAT: "Auth0 rejected a field's format",
  MFA_FACTORS_FAILED: 'Auth0 could not import the MFA factors (the other fields may be applied)',
  conflict_other_user:
    'refused as a duplicate, but the new tenant holds another user with its username, phone number or id',
};

const FILE_TEXT: Array<[PerUserFile, Inline[]]> = [
  ['imported', [': one line per imported user, with its Auth0 job and whether it must reset its password']],
  [
    'alreadyMigrated',
    [': one line per user already in the new tenant, with how it matched and where it was found'],
  ],
  ['skipped', [': one line per skipped user, with the reason']],
  ['failures', [': one line per failed user, with the error code and message']],
  ['retry', [': the failed users in export format, for ', { code: 'auth0-migrate import' }]],
];

const PHASE_ORDER = ['export', 'snapshot', 'plan', 'import', 'relations', 'report'];
const JOB_ROWS = 1000;

/** A path as it can be pasted into a shell. */
const shellArg = (text: string): string =>
  /^[A-Za-z0-9_./:@=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;

const pct = (part: number, whole: number): string =>
  whole === 0 ? '–' : `${((100 * part) / whole).toFixed(part === whole || part === 0 ? 0 : 1)} %`;

function breakdownTable(
  head: string,
  parts: Record<string, number>,
  count: number,
  notes: Record<string, string>,
): Block {
  const rows = Object.entries(parts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([key, users]): Inline[][] => [
      [{ code: key }],
      [n(users)],
      [pct(users, count)],
      [notes[key] ?? ''],
    ]);
  return { kind: 'table', head: [head, 'users', 'share', ''], rows, numeric: [false, true, true, false] };
}

const RELATION_KINDS: Record<string, string> = {
  roles_created: 'roles created in the new tenant (matched by name)',
  role_permissions: 'permissions of roles (those of APIs missing in the new tenant are listed below)',
  role_assignments: "users' roles",
  direct_permissions: "users' own permissions (--direct-permissions)",
};

/** The relations section: per-kind counts, then what the report must say beyond them. */
function relationsBlocks(s: RunSummary): Block[] {
  const r = s.relations;
  if (r === undefined) return [];
  const blocks: Block[] = [{ kind: 'h2', text: ['Relations'] }];
  const kinds = Object.entries(r.counts);
  if (kinds.length === 0) {
    blocks.push({ kind: 'p', text: ['The old tenant has no roles or other relations to carry over.'] });
  } else {
    blocks.push({
      kind: 'table',
      head: [
        'kind',
        'total',
        r.dryRun ? 'would add' : 'added',
        'already present',
        'pending user',
        'failed',
        '',
      ],
      numeric: [false, true, true, true, true, true, false],
      rows: kinds.map(([kind, c]) => [
        [{ code: kind }],
        [n(c.total)],
        [n(c.added)],
        [n(c.already_present)],
        [n(c.pending_user)],
        [
          n(c.failed) +
            (c.failed === 0
              ? ''
              : ` (${Object.entries(c.failures)
                  .map(([code, k]) => `${code} ${n(k)}`)
                  .join(', ')})`),
        ],
        [RELATION_KINDS[kind] ?? ''],
      ]),
    });
  }
  blocks.push({
    kind: 'p',
    text: [
      `${n(r.reads.old + r.reads.new)} list pages read (old tenant ${n(r.reads.old)}, new ${n(r.reads.new)}), ${n(r.calls)} API call${r.calls === 1 ? '' : 's'} ${r.dryRun ? 'planned (dry run: none sent)' : 'sent'}; the whole plan is in `,
      { code: r.files.plan },
      r.dryRun ? '.' : ', and what was added (for rollback) in ',
      ...(r.dryRun ? [] : [{ code: r.files.added }, '.']),
    ],
  });
  if (r.pending > 0) {
    blocks.push({
      kind: 'p',
      text: [
        `${n(r.pending)} relation line${r.pending === 1 ? ' waits' : 's wait'} for users not yet in the new tenant (`,
        { code: r.files.pending },
        '): a later run assigns them once the users arrive.',
      ],
    });
  }
  const missing = r.findings.listed.filter((f) => f.type === 'missing_api');
  if (missing.length > 0) {
    blocks.push({ kind: 'h3', text: ['APIs missing in the new tenant'] });
    blocks.push({
      kind: 'list',
      items: missing.map((f) => [
        { code: f.subject },
        `: ${f.detail}`,
        ...(f.waiting !== undefined && f.waiting.length > 0
          ? [` Waiting: ${f.waiting.slice(0, 5).join('; ')}${f.waiting.length > 5 ? '; …' : ''}`]
          : []),
      ]),
    });
  }
  const others = r.findings.listed.filter((f) => f.type !== 'missing_api');
  if (others.length > 0) {
    blocks.push({ kind: 'h3', text: ['Catalog differences and limits'] });
    blocks.push({
      kind: 'list',
      items: others.map((f): Inline[] => [{ strong: f.type }, ' ', f.subject, `: ${f.detail}`]),
    });
    if (r.findings.total > r.findings.listed.length) {
      blocks.push({
        kind: 'p',
        text: [
          `…and ${n(r.findings.total - r.findings.listed.length)} more in `,
          { code: r.files.findings },
          '.',
        ],
      });
    }
  }
  return blocks;
}

function document({ summary: s, causes, dir }: RenderInput): Block[] {
  const c = s.counts;
  const blocks: Block[] = [];
  const finished = s.timings.finishedAt;
  const took = finished === undefined ? undefined : Date.parse(finished) - Date.parse(s.timings.startedAt);

  blocks.push({ kind: 'h1', text: [`auth0-migrate ${s.kind} `, { code: s.runId }] });
  const facts: Inline[][] = [
    [{ strong: 'Status:' }, ' ', s.status, ...(s.dryRun ? [' (dry run: nothing was sent to Auth0)'] : [])],
    [{ strong: 'Upsert:' }, ' ', s.upsert ? 'on (existing users were updated)' : 'off'],
    [{ strong: 'Started:' }, ' ', s.timings.startedAt],
    [
      { strong: 'Finished:' },
      ' ',
      finished ?? 'not yet',
      ...(took !== undefined ? [` (took ${formatDuration(took)})`] : []),
    ],
  ];
  if (s.input.file !== undefined) facts.push([{ strong: 'Input:' }, ' ', { code: s.input.file }]);
  if (s.input.hashesFile !== undefined)
    facts.push([{ strong: 'Password hashes:' }, ' ', { code: s.input.hashesFile }]);
  if (s.input.oldTenant !== undefined) facts.push([{ strong: 'Old tenant:' }, ' ', s.input.oldTenant]);
  if (s.input.newTenant !== undefined) facts.push([{ strong: 'New tenant:' }, ' ', s.input.newTenant]);
  if (s.input.connection !== undefined)
    facts.push([{ strong: 'Connection:' }, ' ', { code: s.input.connection }]);
  blocks.push({ kind: 'list', items: facts });
  if (s.error !== undefined)
    blocks.push({ kind: 'warn', title: 'The run could not finish', items: [s.error] });

  const problems = [...new Set([...(s.problems ?? []), ...checkSummary(s)])];
  if (problems.length > 0) {
    blocks.push({ kind: 'warn', title: 'The accounting does not add up', items: problems });
  }

  blocks.push({ kind: 'h2', text: ['Where every user went'] });
  const importedLabel = s.dryRun ? 'would be imported' : 'imported';
  blocks.push({
    kind: 'table',
    head: ['outcome', 'users', 'share', ''],
    numeric: [false, true, true, false],
    rows: [
      [
        [importedLabel],
        [n(c.imported)],
        [pct(c.imported, c.total)],
        s.dryRun ? [''] : [`inserted ${n(s.imported.inserted)}, updated ${n(s.imported.updated)}`],
      ],
      [['already migrated'], [n(c.already_migrated)], [pct(c.already_migrated, c.total)], ['']],
      [['skipped'], [n(c.skipped)], [pct(c.skipped, c.total)], ['']],
      [['failed'], [n(c.failed)], [pct(c.failed, c.total)], ['']],
      [[{ strong: 'total' }], [{ strong: n(c.total) }], [''], ['']],
    ],
  });
  if (s.passwordResets > 0) {
    blocks.push({
      kind: 'p',
      text: [
        `${n(s.passwordResets)} ${s.dryRun ? 'would be' : 'were'} imported without a password hash and must reset their password.`,
      ],
    });
  }
  const reenrol = s.mfaReenrolments ?? 0;
  if (reenrol > 0) {
    blocks.push({
      kind: 'p',
      text: [
        `${n(reenrol)} user${reenrol === 1 ? ' was' : 's were'} enrolled in MFA in the old tenant and ${s.dryRun ? 'would arrive' : 'arrived'} without their factors (`,
        { code: REPORT_FILES.mfaReenrolment },
        ').',
      ],
    });
  }
  if (c.already_migrated > 0) {
    blocks.push({ kind: 'h3', text: ['Already migrated, by match'] });
    blocks.push(
      breakdownTable('found by', s.already_migrated, c.already_migrated, {
        user_id: 'same user id in the new tenant',
        email: 'same email in the new tenant',
      }),
    );
  }
  if (c.skipped > 0) {
    blocks.push({ kind: 'h3', text: ['Skipped, by reason'] });
    blocks.push(breakdownTable('reason', s.skipped, c.skipped, SKIP_REASONS));
  }
  if (c.failed > 0) {
    blocks.push({ kind: 'h3', text: ['Failed, by error code'] });
    blocks.push(breakdownTable('code', s.failed, c.failed, FAILURE_CODES));
  }

  if (causes.length > 0) {
    blocks.push({ kind: 'h2', text: ['Top failure causes'] });
    for (const cause of causes) {
      blocks.push({
        kind: 'h3',
        text: [{ code: cause.code }, `: ${n(cause.count)} user${cause.count === 1 ? '' : 's'}`],
      });
      const items: Inline[][] = cause.messages.map((m) => [`${n(m.count)} × `, m.message]);
      blocks.push({ kind: 'list', items });
      blocks.push({ kind: 'p', text: ['For example:'] });
      blocks.push({
        kind: 'list',
        items: cause.examples.map((e) => {
          const who: Inline[] = [];
          if (e.user_id !== undefined) who.push({ code: e.user_id });
          if (e.email !== undefined) who.push(who.length > 0 ? ` (${e.email})` : e.email);
          if (who.length === 0) who.push('(no id)');
          const where = [
            e.line !== undefined ? `input line ${e.line}` : '',
            e.batch !== undefined ? `batch ${e.batch}` : '',
          ]
            .filter(Boolean)
            .join(', ');
          return [...who, where ? `, ${where}` : '', ': ', e.message];
        }),
      });
    }
  }

  blocks.push(...relationsBlocks(s));

  blocks.push({ kind: 'h2', text: ['Next steps'] });
  const steps: Inline[][] = [];
  if (s.status === 'failed') {
    steps.push([
      'Fix the cause above and run the same command again with ',
      { code: `--run-id ${s.runId}` },
      ' to resume the run.',
    ]);
  }
  if (s.dryRun) {
    steps.push([
      'This was a dry run. When the numbers look right, run the same command without ',
      { code: '--dry-run' },
      '.',
    ]);
  }
  if (c.failed > 0) {
    const hashes = s.input.hashesFile !== undefined ? ` --hashes ${shellArg(s.input.hashesFile)}` : '';
    steps.push([
      `${n(c.failed)} user${c.failed === 1 ? '' : 's'} failed (details in `,
      { code: REPORT_FILES.failures },
      '). Fix the causes, then import them again: ',
      { code: `auth0-migrate import ${shellArg(`${dir}/${REPORT_FILES.retry}`)}${hashes}` },
      ...(s.input.hashesFile !== undefined
        ? [' (the retry file never holds password hashes, so pass the hash file again).']
        : ['.']),
    ]);
  }
  if (s.passwordResets > 0 && !s.dryRun) {
    steps.push([
      `${n(s.passwordResets)} user${s.passwordResets === 1 ? '' : 's'} need a new password (`,
      { code: 'password_reset' },
      ` in ${REPORT_FILES.imported}). See what would happen with `,
      { code: `auth0-migrate resets ${s.runId}` },
      ', then create the password-change tickets with ',
      { code: `auth0-migrate resets ${s.runId} --send` },
      ', or have Auth0 send its change-password email with ',
      { code: `auth0-migrate resets ${s.runId} --send --email` },
      '.',
    ]);
  }
  if (reenrol > 0 && !s.dryRun) {
    steps.push([
      `${n(reenrol)} user${reenrol === 1 ? '' : 's'} must enrol in MFA again (`,
      { code: REPORT_FILES.mfaReenrolment },
      "). Until they do, whoever knows their password passes the first factor alone: have the new tenant require a verified re-enrolment for them (an MFA policy of Always, or an Action that challenges them before enrolment), and don't let them enrol a new factor on the password alone.",
    ]);
  }
  if (c.skipped > 0)
    steps.push([
      `Check the ${n(c.skipped)} skipped users in `,
      { code: REPORT_FILES.skipped },
      ': each line says why.',
    ]);
  if (steps.length === 0) steps.push(['Nothing to do: every user is in the new tenant.']);
  blocks.push({ kind: 'list', items: steps });

  const picture = drawRun(s);
  if (picture !== undefined) {
    blocks.push({ kind: 'h2', text: ['The run over time'] });
    blocks.push({ kind: 'figure', svg: picture.svg });
    blocks.push({ kind: 'list', items: picture.facts.map((fact) => [fact]) });
  }

  if (s.auth0Jobs.length > 0) {
    blocks.push({ kind: 'h2', text: [`Auth0 import jobs (${n(s.auth0Jobs.length)})`] });
    blocks.push({
      kind: 'table',
      head: ['batch', 'job id', 'status', 'inserted', 'updated', 'failed', 'total'],
      numeric: [false, false, false, true, true, true, true],
      rows: s.auth0Jobs
        .slice(0, JOB_ROWS)
        .map((j) => [
          [{ code: j.batch }],
          [{ code: j.jobId }],
          [j.status],
          [j.summary ? n(j.summary.inserted) : ''],
          [j.summary ? n(j.summary.updated) : ''],
          [j.summary ? n(j.summary.failed) : ''],
          [j.summary ? n(j.summary.total) : ''],
        ]),
    });
    if (s.auth0Jobs.length > JOB_ROWS) {
      blocks.push({
        kind: 'p',
        text: [`…and ${n(s.auth0Jobs.length - JOB_ROWS)} more in ${REPORT_FILES.summaryJson}.`],
      });
    }
  }
  blocks.push({
    kind: 'p',
    text: [
      `Batches: ${n(s.batches.total)} in all, ${n(s.batches.completed)} completed, ${n(s.batches.failed)} failed.`,
    ],
  });

  const phases = Object.entries(s.timings.phases).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  if (phases.length > 0) {
    blocks.push({ kind: 'h2', text: ['Timings'] });
    const start = Date.parse(s.timings.startedAt);
    const spans = s.timings.spans ?? {};
    const since = (iso: string | undefined): string =>
      iso === undefined ? '' : formatDuration(Math.max(0, Date.parse(iso) - start));
    blocks.push({
      kind: 'table',
      head: ['phase', 'from', 'to', 'time'],
      numeric: [false, true, true, true],
      rows: phases.map(([phase, ms]) => [
        [phase],
        [since(spans[phase]?.start)],
        [since(spans[phase]?.end)],
        [formatDuration(ms)],
      ]),
    });
    const ranges = phases.flatMap(([phase]) => {
      const span = spans[phase];
      return span === undefined
        ? []
        : [{ name: phase, start: Date.parse(span.start), end: Date.parse(span.end) }];
    });
    // Without recorded spans (an older summary), the pairs that always overlap in a run.
    const has = (phase: string): boolean => phases.some(([p]) => p === phase);
    const together =
      ranges.length > 0
        ? overlapping(ranges)
        : [
            ...(has('export') && has('snapshot') ? ['export and snapshot'] : []),
            ...(has('plan') && has('import') ? ['plan and import'] : []),
          ];
    if (together.length > 0) {
      blocks.push({
        kind: 'p',
        text: [
          `The phases overlap (${together.join(', ')} ran at the same time), so their times add up to more than the run took${took !== undefined ? ` (${formatDuration(took)})` : ''}. The from and to columns count from the start of the run.`,
        ],
      });
    }
  }

  blocks.push({ kind: 'h2', text: ['Files'] });
  const files = s.files as Partial<Record<PerUserFile, RunSummary['files'][PerUserFile] | string>>;
  const items: Inline[][] = [[{ code: REPORT_FILES.summaryJson }, ': this summary, for scripts']];
  for (const [key, what] of FILE_TEXT) {
    const file = files[key];
    if (file === undefined) continue;
    items.push(
      typeof file === 'string'
        ? [{ code: file }, ...what]
        : [{ code: file.name }, ` (${count(file.lines, 'line')})`, ...what],
    );
  }
  blocks.push({ kind: 'list', items });
  return blocks;
}

function rank(phase: string): number {
  const i = PHASE_ORDER.indexOf(phase);
  return i === -1 ? PHASE_ORDER.length : i;
}

/**
 * Escapes Markdown syntax in text that came from data, keeping it readable as plain text (the
 * email body); line breaks become spaces.
 */
export function mdEscape(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*_[\]<>|~]/g, (ch) => `\\${ch}`)
    .replace(/&(?=#?[A-Za-z0-9]+;)/g, '\\&')
    .replace(/^([#+-])/, '\\$1');
}

/** A code span; in a table cell `|` is escaped too (GFM splits cells before reading code spans). */
function mdCode(text: string, inTable: boolean): string {
  let clean = text.replace(/\r?\n|\r/g, ' ');
  if (inTable) clean = clean.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((t) => t.length));
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

function mdInline(parts: Inline[], inTable = false): string {
  return parts
    .map((p) =>
      typeof p === 'string'
        ? mdEscape(p)
        : 'code' in p
          ? mdCode(p.code, inTable)
          : `**${mdEscape(p.strong)}**`,
    )
    .join('');
}

export function renderMarkdown(input: RenderInput): string {
  const out: string[] = [];
  for (const b of document(input)) {
    switch (b.kind) {
      case 'h1':
        out.push(`# ${mdInline(b.text)}`, '');
        break;
      case 'h2':
        out.push(`## ${mdInline(b.text)}`, '');
        break;
      case 'h3':
        out.push(`### ${mdInline(b.text)}`, '');
        break;
      case 'p':
        out.push(mdInline(b.text), '');
        break;
      case 'list':
        out.push(...b.items.map((i) => `- ${mdInline(i)}`), '');
        break;
      case 'warn':
        out.push(`> **${mdEscape(b.title)}**`, '>', ...b.items.map((i) => `> - ${mdEscape(i)}`), '');
        break;
      case 'figure':
        out.push(`_The picture of the run is in ${REPORT_FILES.summaryHtml}._`, '');
        break;
      case 'table':
        out.push(
          `| ${b.head.map(mdEscape).join(' | ')} |`,
          `| ${b.numeric.map((num) => (num ? '---:' : '---')).join(' | ')} |`,
          ...b.rows.map((r) => `| ${r.map((cell) => mdInline(cell, true)).join(' | ')} |`),
          '',
        );
        break;
    }
  }
  return out.join('\n');
}

/**
 * A code span that wraps only at its spaces: each word stays whole (a browser would otherwise
 * break `--send` after a hyphen, or anywhere under `word-break: break-all`).
 */
function htmlCode(text: string): string {
  const words = text
    .split(/( +)/)
    .map((w) => (w === '' || w.startsWith(' ') ? w : `<span class="w">${htmlEscape(w)}</span>`));
  return `<code>${words.join('')}</code>`;
}

function htmlInline(parts: Inline[]): string {
  return parts
    .map((p) =>
      typeof p === 'string'
        ? htmlEscape(p)
        : 'code' in p
          ? htmlCode(p.code)
          : `<strong>${htmlEscape(p.strong)}</strong>`,
    )
    .join('');
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:0 .2rem}
code .w{white-space:nowrap}
.warn{border-left:4px solid #cf222e;background:#fff5f5;padding:.5rem 1rem}
figure{margin:1rem 0}figure svg{display:block;width:100%;height:auto}
`;

export function renderHtml(input: RenderInput): string {
  const body: string[] = [];
  for (const b of document(input)) {
    switch (b.kind) {
      case 'h1':
      case 'h2':
      case 'h3':
        body.push(`<${b.kind}>${htmlInline(b.text)}</${b.kind}>`);
        break;
      case 'p':
        body.push(`<p>${htmlInline(b.text)}</p>`);
        break;
      case 'list':
        body.push(`<ul>${b.items.map((i) => `<li>${htmlInline(i)}</li>`).join('')}</ul>`);
        break;
      case 'warn':
        body.push(
          `<div class="warn"><strong>${htmlEscape(b.title)}</strong><ul>${b.items.map((i) => `<li>${htmlEscape(i)}</li>`).join('')}</ul></div>`,
        );
        break;
      case 'figure':
        body.push(`<figure>${b.svg}</figure>`);
        break;
      case 'table':
        body.push(
          `<table><thead><tr>${b.head.map((h) => `<th>${htmlEscape(h)}</th>`).join('')}</tr></thead><tbody>` +
            b.rows
              .map(
                (r) =>
                  `<tr>${r.map((cell, i) => `<td${b.numeric[i] ? ' class="n"' : ''}>${htmlInline(cell)}</td>`).join('')}</tr>`,
              )
              .join('') +
            '</tbody></table>',
        );
        break;
    }
  }
  const title = `auth0-migrate ${input.summary.kind} ${input.summary.runId}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${htmlEscape(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
