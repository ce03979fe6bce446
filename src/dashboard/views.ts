/**
 * The main part of each dashboard page, from plain data (what ./index.ts gathers from the
 * verifier, the log and the witnesses). Every value is interpolated through `html`, so text from
 * the log is always escaped. Pure: no I/O.
 */
import { formatTime, parseTime } from '../../protocol/src/time.js';
import type { Finding, Verdict } from '../../protocol/src/verdict.js';
import { toBase64 } from '../core/bytes.js';
import type { StatementRecord, UndecodableEntry } from '../verifier/log-index.js';
import type { Alert, PauseSummary, ServiceStatus } from '../verifier/service.js';
import type { ObservedCheckpoint } from '../verifier/timeline.js';
import { computeChart, energyChart, si } from './charts.js';
import { type Child, type Html, html, path, trusted } from './html.js';
import { kv, severityBadge, verdictBadge } from './layout.js';
import type { ReceiptCheck } from './receipt.js';
import type { LogHealth, SimReport, WitnessHealth } from './sources.js';
import type { LabTimeline } from './timeline.js';

/** A pause with its verdict, or why there is none. */
export interface PauseRow {
  pause: PauseSummary;
  verdict?: Verdict;
  error?: string;
}

export interface LabRow {
  lab: string;
  pauses: PauseRow[];
}

/** One witness as the overview shows it: the policy, the log's metrics and its /healthz. */
export interface WitnessRow {
  name: string;
  url?: string;
  /** the log's view (vpause_log_witness_up) */
  up?: boolean;
  cosignedSize?: number;
  health?: WitnessHealth;
  /** its cosignature on the checkpoint the verifier relies on, POSIX seconds */
  cosignedAt?: number;
}

const when = (s: number | undefined) =>
  s === undefined || !Number.isFinite(s) ? undefined : formatTime(Math.floor(s));

/** "12 s ago", "3 min ago", … */
export function ago(then: number, now: number): string {
  const d = Math.max(0, Math.round(now - then));
  if (d < 90) return `${d} s ago`;
  if (d < 90 * 60) return `${Math.round(d / 60)} min ago`;
  if (d < 36 * 3600) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86_400)} d ago`;
}

function num(x: number | null | undefined, unit = ''): string {
  if (x === null || x === undefined) return '—';
  return unit === '' ? String(Number(x.toPrecision(4))) : si(x, unit);
}

const labHref = (lab: string) => path('labs', lab);
const pauseHref = (lab: string, pause: string) => path('labs', lab, 'pauses', pause);
const evidenceHref = (index: number) => path('evidence', index);

function findingCounts(v: Verdict): Html {
  const by = { violation: 0, gap: 0, info: 0 } as Record<string, number>;
  for (const f of v.findings) by[f.severity] = (by[f.severity] ?? 0) + 1;
  const parts = (['violation', 'gap', 'info'] as const)
    .filter((s) => by[s]! > 0)
    .map((s) => html`<span class="badge s-${s}">${by[s]} ${s}</span> `);
  return parts.length === 0 ? html`<span class="muted">none</span>` : html`${parts}`;
}

function windowText(p: { start: string; end: string | null }): string {
  return `${p.start} → ${p.end ?? 'open'}`;
}

function checkpointTable(cp: ObservedCheckpoint, now: number): Html {
  return html`${kv([
    ['origin', html`<code>${cp.origin}</code>`],
    ['tree size', cp.size],
    ['root hash', html`<code>${toBase64(cp.rootHash)}</code>`],
    [
      'quorum',
      cp.quorum ? html`<span class="up">met</span>` : html`<span class="down">not met</span>`,
    ],
  ])}
<table class="cosignatures"><tr><th>witness</th><th>cosigned at (witness clock)</th></tr>${
    cp.cosignatures.length === 0
      ? html`<tr><td colspan="2" class="muted">no cosignature of a policy witness</td></tr>`
      : cp.cosignatures.map(
          (c) =>
            html`<tr><td>${c.witness}</td><td>${when(c.time)} <span class="muted small">(${ago(c.time, now)})</span></td></tr>`,
        )
  }</table>`;
}

// ---------------------------------------------------------------------------------------------
// Overview

export interface OverviewData {
  now: number;
  labs: LabRow[];
  status: ServiceStatus;
  anchor?: ObservedCheckpoint;
  log: LogHealth;
  witnesses: WitnessRow[];
  alerts: Alert[];
  reports?: SimReport[];
}

export function overviewView(d: OverviewData): Html {
  const s = d.status;
  const lastSync = s.lastSync === null ? undefined : parseTime(s.lastSync);
  return html`<p class="asof">as of ${formatTime(Math.floor(d.now))}</p>
<h1>Declared pauses</h1>
<section class="card" id="labs">
<table>
<tr><th>lab</th><th>pause</th><th>window</th><th>verdict</th><th>findings</th><th>reports</th><th>detects ≥</th></tr>
${d.labs.map((l) =>
  l.pauses.length === 0
    ? html`<tr class="lab-row" data-lab="${l.lab}"><td><a href="${labHref(l.lab)}">${l.lab}</a></td><td colspan="6" class="muted">no pause declared in the log</td></tr>`
    : l.pauses.map(
        (
          p,
          i,
        ) => html`<tr class="lab-row" data-lab="${l.lab}" data-pause="${p.pause.id}" data-verdict="${p.verdict?.verdict ?? ''}">
<td>${i === 0 ? html`<a href="${labHref(l.lab)}">${l.lab}</a>` : null}</td>
<td><a href="${pauseHref(l.lab, p.pause.id)}">${p.pause.id}</a></td>
<td class="small">${windowText(p.pause)}</td>
<td>${p.verdict !== undefined ? verdictBadge(p.verdict.verdict) : html`<span class="badge v-unknown" title="${p.error ?? ''}">error</span>`}</td>
<td>${p.verdict !== undefined ? findingCounts(p.verdict) : html`<span class="small">${p.error}</span>`}</td>
<td class="num">${p.verdict !== undefined ? html`${p.verdict.summary.reports}<div class="small muted">${p.verdict.summary.expectedReports} due</div>` : '—'}</td>
<td class="num">${p.verdict?.detection?.minHiddenFlop != null ? num(p.verdict.detection.minHiddenFlop, 'FLOP') : '—'}</td>
</tr>`,
      ),
)}
</table>
${d.labs.length === 0 ? html`<p class="muted">The policy names no lab.</p>` : null}
</section>

<div class="grid2">
<section class="card" id="verifier">
<h2>Verifier</h2>
${kv([
  ['entries verified', s.size],
  [
    'checkpoint relied on',
    s.checkpoint === null
      ? html`<span class="muted">none yet</span>`
      : html`size ${s.checkpoint.size}, quorum ${s.checkpoint.quorum ? html`<span class="up">met</span>` : html`<span class="down">not met</span>`}`,
  ],
  [
    'last sync',
    lastSync === undefined
      ? html`<span class="down">never</span>`
      : html`${s.lastSync} <span class="muted small">(${ago(lastSync, d.now)})</span>`,
  ],
  ['last error', s.lastError === null ? null : html`<span class="down">${s.lastError}</span>`],
  [
    'fork evidence',
    s.forks === 0
      ? html`<span class="up">none</span>`
      : html`<span class="down">${s.forks} document(s): the log signed inconsistent checkpoints</span>`,
  ],
])}
</section>
<section class="card" id="log">
<h2>Log</h2>
${kv([
  ['address', html`<a href="${d.log.url}/checkpoint"><code>${d.log.url}</code></a>`],
  [
    'reachable',
    d.log.reachable
      ? html`<span class="up">yes</span>`
      : html`<span class="down">no</span> <span class="small">${d.log.error ?? ''}</span>`,
  ],
  ['tree size', d.log.treeSize ?? null],
  ['pending entries', d.log.pending ?? null],
  ['witnessed size (quorum)', d.log.witnessedSize ?? null],
  ['note', d.log.reachable && d.log.error !== undefined ? d.log.error : null],
])}
</section>
</div>

<section class="card" id="witnesses">
<h2>Witnesses</h2>
<table>
<tr><th>witness</th><th>log's last add-checkpoint</th><th>cosigned size</th><th>/healthz</th><th>cosignature on the checkpoint relied on</th></tr>
${d.witnesses.map(
  (
    w,
  ) => html`<tr class="witness" data-witness="${w.name}" data-up="${w.up === undefined ? '' : String(w.up)}">
<td>${w.name}${w.url !== undefined ? html`<div class="small muted mono">${w.url}</div>` : null}</td>
<td>${w.up === undefined ? html`<span class="muted">unknown</span>` : w.up ? html`<span class="up">up</span>` : html`<span class="down">down</span>`}</td>
<td class="num">${w.cosignedSize ?? '—'}</td>
<td>${w.health === undefined ? html`<span class="muted">no address</span>` : w.health.reachable ? html`<span class="up">ok</span>` : html`<span class="down">unreachable</span> <span class="small">${w.health.error ?? ''}</span>`}</td>
<td>${w.cosignedAt !== undefined ? html`${when(w.cosignedAt)} <span class="muted small">(${ago(w.cosignedAt, d.now)})</span>` : html`<span class="muted">—</span>`}</td>
</tr>`,
)}
</table>
${d.witnesses.length === 0 ? html`<p class="muted">No witness is configured.</p>` : null}
${d.anchor !== undefined ? html`<details id="anchor-note"><summary class="small">checkpoint note relied on (size ${d.anchor.size})</summary><pre>${d.anchor.note}</pre></details>` : null}
</section>

<section class="card" id="alerts">
<h2>Recent alerts</h2>
${
  d.alerts.length === 0
    ? html`<p class="muted">No finding has been raised.</p>`
    : html`<table>
<tr><th>#</th><th>seen</th><th>lab / pause</th><th>finding</th><th>message</th></tr>
${d.alerts.map(
  (a) => html`<tr class="alert">
<td class="num">${a.id}</td>
<td class="small">${a.time}</td>
<td><a href="${pauseHref(a.lab, a.pause)}">${a.lab} / ${a.pause}</a></td>
<td>${severityBadge(a.finding.severity)} <code>${a.finding.code}</code></td>
<td class="small">${a.finding.message}</td>
</tr>`,
)}
</table>`
}
</section>
${
  d.reports === undefined
    ? null
    : html`<section class="card" id="sim-reports">
<h2>Simulator reports</h2>
${
  d.reports.length === 0
    ? html`<p class="muted">No report.html in the reports folder yet (<code>vpause sim</code> writes them).</p>`
    : html`<ul>${d.reports.map(
        (r) =>
          html`<li><a href="${`/sim-reports/${r.path.split('/').map(encodeURIComponent).join('/')}`}">${r.path}</a> <span class="muted small">${when(r.modified / 1000)}</span></li>`,
      )}</ul>`
}
</section>`
}`;
}

// ---------------------------------------------------------------------------------------------
// Lab

export interface LabData {
  now: number;
  lab: string;
  pauses: PauseRow[];
  /** the pause the timeline is drawn for */
  selected?: PauseSummary;
  timeline?: LabTimeline;
}

function findingLinks(lab: string, pause: string, v: Verdict): Html {
  if (v.findings.length === 0) return html`<p class="muted small">No finding.</p>`;
  return html`<ul class="findings">${v.findings.map(
    (f, k) =>
      html`<li>${severityBadge(f.severity)} <a class="finding-link" data-code="${f.code}" href="${`${pauseHref(lab, pause)}#finding-${k}`}"><code>${f.code}</code></a> <span class="small">${f.message}</span>${
        f.evidence.length > 0
          ? html` <span class="small muted">— evidence: ${f.evidence
              .slice(0, 3)
              .map(
                (e, i) =>
                  html`${i > 0 ? ', ' : ''}<a href="${evidenceHref(e.index)}">#${e.index}</a>`,
              )}${
              f.evidence.length + (f.evidenceOmitted ?? 0) > 3
                ? ` and ${f.evidence.length + (f.evidenceOmitted ?? 0) - 3} more`
                : ''
            }</span>`
          : null
      }</li>`,
  )}</ul>`;
}

function timelineView(t: LabTimeline): Html {
  const plotted = t.starts.length;
  return html`<p class="small muted">${plotted} interval(s) of ${t.intervalSeconds} s${
    t.omitted > 0 ? `, the latest ones (${t.omitted} earlier interval(s) not drawn)` : ''
  }${plotted > 0 ? html`, ${formatTime(t.starts[0]!)} → ${formatTime(t.starts[plotted - 1]! + t.intervalSeconds)}` : ''}. ${
    t.authenticated
      ? `Authentic statements only${t.inauthentic > 0 ? ` (${t.inauthentic} left out)` : ''}.`
      : 'Statements as logged (no policy given to check them).'
  }</p>
${plotted === 0 ? html`<p class="muted">No reporting interval of this pause has ended yet.</p>` : null}
${plotted > 0 ? html`<div class="chart" id="chart-compute">${trusted(computeChart(t))}</div>` : null}
${t.facilities.map(
  (f) => html`<h3>Facility ${f.facility}</h3>
${
  plotted > 0
    ? html`<div class="chart" id="${`chart-energy-${f.facility}`}">${trusted(energyChart(t, f))}</div>`
    : null
}
<table class="totals">
<tr><th>over the plotted intervals</th><th>meter</th><th>reported GPU</th><th>expected at PUE max + baseline</th><th>unexplained (meter − expected)</th></tr>
<tr><td>${f.totals.intervals} interval(s) with reports and meter readings${
    f.params !== undefined
      ? html`<div class="small muted">PUE ${f.params.pueMin}–${f.params.pueMax}, baseline ${si(f.params.baselineW, 'W')}, meter σ ${f.params.meterSigma * 100} %</div>`
      : html`<div class="small muted">no facility parameters in the policy: no band</div>`
  }</td>
<td class="num">${num(f.totals.meterJ, 'J')}</td>
<td class="num">${num(f.totals.gpuJ, 'J')}</td>
<td class="num">${num(f.totals.expectedMaxJ, 'J')}</td>
<td class="num unexplained">${
    f.totals.residualJ !== undefined
      ? html`${num(f.totals.residualJ, 'J')}${f.totals.balanceZ !== undefined ? html`<div class="small">Z = ${f.totals.balanceZ.toFixed(1)}</div>` : null}<div class="small muted above">${f.totals.intervalsAbove} interval(s) above the band by &gt; 3σ</div>`
      : '—'
  }</td></tr>
</table>`,
)}
${t.facilities.length === 0 ? html`<p class="muted">The lab declared no facility and sent no report.</p>` : null}`;
}

export function labView(d: LabData): Html {
  return html`<p class="asof">as of ${formatTime(Math.floor(d.now))}</p>
<h1>${d.lab}</h1>
<section class="card" id="pauses">
<h2>Pauses</h2>
${d.pauses.length === 0 ? html`<p class="muted">This lab has declared no pause in the log.</p>` : null}
${d.pauses.map(
  (
    p,
  ) => html`<div class="pause" data-pause="${p.pause.id}" data-verdict="${p.verdict?.verdict ?? ''}">
<h3><a href="${pauseHref(d.lab, p.pause.id)}">${p.pause.id}</a> ${p.verdict !== undefined ? verdictBadge(p.verdict.verdict) : verdictBadge(undefined)} <span class="small muted">${windowText(p.pause)} · declared at <a href="${evidenceHref(p.pause.index)}">#${p.pause.index}</a></span></h3>
${p.verdict !== undefined ? findingLinks(d.lab, p.pause.id, p.verdict) : html`<p class="down small">${p.error}</p>`}
</div>`,
)}
</section>
${
  d.selected === undefined || d.timeline === undefined
    ? null
    : html`<section class="card" id="timeline">
<h2>Timeline of ${d.selected.id}</h2>
${
  d.pauses.length > 1
    ? html`<p class="small">Other pauses: ${d.pauses
        .filter((p) => p.pause.id !== d.selected!.id)
        .map(
          (p) =>
            html`<a href="${`${labHref(d.lab)}?pause=${encodeURIComponent(p.pause.id)}`}">${p.pause.id}</a> `,
        )}</p>`
    : null
}
${timelineView(d.timeline)}
</section>`
}`;
}

// ---------------------------------------------------------------------------------------------
// Pause

function findingView(f: Finding, k: number): Html {
  const omitted = f.evidenceOmitted ?? 0;
  return html`<article class="finding sev-${f.severity}" id="finding-${k}" data-code="${f.code}">
<p>${severityBadge(f.severity)} <code><strong>${f.code}</strong></code>${
    f.subject !== undefined
      ? html` <span class="small muted">${Object.entries(f.subject)
          .map(([a, b]) => `${a} ${b}`)
          .join(' · ')}</span>`
      : null
  }</p>
<p class="message">${f.message}</p>
${
  f.evidence.length > 0
    ? html`<table class="evidence"><tr><th>evidence</th><th>role</th><th>leaf hash</th></tr>${f.evidence.map(
        (e) =>
          html`<tr><td><a class="evidence-link" href="${evidenceHref(e.index)}">entry #${e.index}</a></td><td>${e.role}</td><td><code>${e.leafHash}</code></td></tr>`,
      )}</table>`
    : html`<p class="small muted">This finding cites no statement (it rests on their absence).</p>`
}
${omitted > 0 ? html`<p class="small muted">${omitted} further evidence item(s) not listed.</p>` : null}
${
  f.checkpoints !== undefined && f.checkpoints.length > 0
    ? html`<p class="small">Checkpoints: ${f.checkpoints.map((c) => html`<code>${c.origin}</code> size ${c.size} `)}</p>`
    : null
}
${
  f.data !== undefined
    ? html`<details id="${`finding-${k}-data`}"><summary class="small">figures behind the finding</summary><pre>${JSON.stringify(f.data, null, 2)}</pre></details>`
    : null
}
</article>`;
}

export interface PauseData {
  now: number;
  lab: string;
  pause: PauseSummary;
  verdict: Verdict;
}

export function pauseView(d: PauseData): Html {
  const v = d.verdict;
  const det = v.detection;
  return html`<p class="asof">as of ${v.asOf}</p>
<h1><a href="${labHref(d.lab)}">${d.lab}</a> / ${d.pause.id} ${verdictBadge(v.verdict)}</h1>
<section class="card" id="verdict">
${kv([
  ['window', `${v.window.from} → ${v.window.to}`],
  [
    'declared',
    html`<a href="${evidenceHref(d.pause.index)}">entry #${d.pause.index}</a> <code class="small">${d.pause.leafHash}</code>`,
  ],
  [
    'checkpoint relied on',
    v.checkpoint === null
      ? html`<span class="muted">none</span>`
      : html`<code>${v.checkpoint.origin}</code> size ${v.checkpoint.size}, quorum ${v.checkpoint.quorum ? html`<span class="up">met</span>` : html`<span class="down">not met</span>`}${v.checkpoint.cosignedBy.length > 0 ? `, cosigned by ${v.checkpoint.cosignedBy.join(', ')}` : ''}`,
  ],
  [
    'reports',
    `${v.summary.reports} received from ${v.summary.nodes} node(s) over ${v.summary.intervals} interval(s); ${v.summary.expectedReports} were due by now, ${v.summary.pendingReports} more are not yet due`,
  ],
  ['meter readings', v.summary.meterReadings],
  ['statements the verdict rests on', v.summary.statements],
  [
    'as JSON',
    html`<a href="${`/v1/labs/${encodeURIComponent(d.lab)}/pauses/${encodeURIComponent(d.pause.id)}/verdict`}">verdict</a>`,
  ],
])}
</section>
<section class="card" id="detection">
<h2>Detection bound</h2>
${
  det === null
    ? html`<p class="muted">No facility in scope: the physics check bounds nothing.</p>`
    : html`<p>With probability ${det.probability} (false-alarm rate α = ${det.alpha}), the physics check detects hidden compute of at least <strong>${det.minHiddenFlop === null ? '— (no metered facility checked)' : num(det.minHiddenFlop, 'FLOP')}</strong>${det.minHiddenGpuHoursH100 !== null ? ` (${num(det.minHiddenGpuHoursH100)} H100-hours)` : ''} over this window.</p>
${
  det.facilities.length > 0
    ? html`<table><tr><th>facility</th><th>intervals</th><th>α share</th><th>alarm</th><th>min hidden energy</th><th>statistical</th><th>PUE slack</th><th>min hidden FLOP</th></tr>${det.facilities.map(
        (f) =>
          html`<tr><td>${f.facility}</td><td class="num">${f.intervals}</td><td class="num">${num(f.alpha)}</td><td>${f.alarm ? html`<span class="down">alarm</span>` : html`<span class="up">no</span>`}</td><td class="num">${num(f.minHiddenJ, 'J')}</td><td class="num">${num(f.statisticalJ, 'J')}</td><td class="num">${num(f.pueSlackJ, 'J')}</td><td class="num">${num(f.minHiddenFlop, 'FLOP')}</td></tr>`,
      )}</table>`
    : null
}
${det.unmetered.length > 0 ? html`<p class="small down">Not bounded (no meter balance): ${det.unmetered.join(', ')}</p>` : null}
${det.assumptions.length > 0 ? html`<details id="assumptions"><summary class="small">assumptions</summary><ul class="small">${det.assumptions.map((a) => html`<li>${a}</li>`)}</ul></details>` : null}`
}
</section>
<section id="findings">
<h2>Findings (${v.findings.length})</h2>
${v.findings.length === 0 ? html`<p class="muted">No finding: every check passed over this window.</p>` : null}
${v.findings.map((f, k) => findingView(f, k))}
</section>`;
}

// ---------------------------------------------------------------------------------------------
// Evidence

const KIND: Record<string, string> = {
  'application/vnd.vpause.registration+json': 'node key registration',
  'application/vnd.vpause.inventory+json': 'inventory',
  'application/vnd.vpause.pause+json': 'pause declaration',
  'application/vnd.vpause.usage+json': 'usage report',
  'application/vnd.vpause.meter+json': 'meter reading',
};

export interface Citation {
  lab: string;
  pause: string;
  code: string;
  severity: string;
  finding: number;
  role: string;
}

export interface EvidenceData {
  now: number;
  index: number;
  record?: StatementRecord;
  undecodable?: UndecodableEntry;
  /** the lab the statement speaks for, when it has one the verifier knows */
  lab?: string;
  /** authenticity as the verifier judges it (absent without a policy) */
  authentic?: { ok: boolean; reason?: string };
  witnessedAt?: number;
  /** the smallest checkpoint with quorum that covers the entry */
  covering?: ObservedCheckpoint;
  /** the checkpoint the verifier relies on now */
  anchor?: ObservedCheckpoint;
  logUrl: string;
  /** the receipt as the log served it, and its check against the policy (when there is one) */
  receipt: { text: string; check?: ReceiptCheck } | { error: string };
  citations: Citation[];
}

export function evidenceView(d: EvidenceData): Html {
  const r = d.record;
  const i = d.index;
  const logLinks = html`<p class="links">On the log: <a id="raw-entry" href="${`${d.logUrl}/v1/entries/${i}`}">raw entry</a> · <a id="receipt-link" href="${`${d.logUrl}/v1/receipt/${i}`}">receipt (C2SP tlog-proof)</a> · <a href="${`${d.logUrl}/checkpoint`}">current checkpoint</a></p>`;
  let statement: Child;
  if (r !== undefined) {
    statement = html`${kv([
      ['kind', KIND[r.payloadType] ?? r.payloadType],
      ['lab', d.lab !== undefined ? html`<a href="${labHref(d.lab)}">${d.lab}</a>` : null],
      ['payloadType', html`<code>${r.payloadType}</code>`],
      ['leaf hash (RFC 9162)', html`<code class="leaf-hash">${r.leafHash}</code>`],
      ['payload SHA-256', html`<code>${r.payloadHash}</code>`],
      [
        'signed by (keyid)',
        html`${r.signatures.map((s, k) => html`${k > 0 ? html`<br>` : ''}<code class="keyid">${s.keyid}</code>`)}`,
      ],
      [
        'authentic',
        d.authentic === undefined
          ? null
          : d.authentic.ok
            ? html`<span class="up">yes</span>`
            : html`<span class="down">no</span> <span class="small">${d.authentic.reason ?? ''}</span>`,
      ],
      [
        'witnessed (quorum) by',
        d.witnessedAt !== undefined
          ? html`${when(d.witnessedAt)} <span class="muted small">(witness clocks)</span>`
          : html`<span class="muted">not yet seen in a checkpoint with quorum</span>`,
      ],
    ])}
<h2>Payload</h2>
<pre id="payload">${JSON.stringify(r.payload, null, 2)}</pre>`;
  } else {
    statement = html`<p class="down">This entry does not decode as a vpause statement (${d.undecodable?.code ?? 'unknown'}).</p>
${kv([['leaf hash (RFC 9162)', d.undecodable !== undefined ? html`<code class="leaf-hash">${d.undecodable.leafHash}</code>` : null]])}`;
  }
  return html`<p class="asof">as of ${formatTime(Math.floor(d.now))}</p>
<h1>Log entry #${i}</h1>
<section class="card" id="statement">
${statement}
${logLinks}
</section>
${
  d.citations.length > 0
    ? html`<section class="card" id="cited-by"><h2>Cited by</h2><ul>${d.citations.map(
        (c) =>
          html`<li>${severityBadge(c.severity)} <a href="${`${pauseHref(c.lab, c.pause)}#finding-${c.finding}`}"><code>${c.code}</code> of ${c.lab} / ${c.pause}</a> <span class="small muted">as ${c.role}</span></li>`,
      )}</ul></section>`
    : null
}
<section class="card" id="covering-checkpoint">
<h2>Checkpoint covering it</h2>
${
  d.covering !== undefined
    ? html`<p class="small muted">The smallest checkpoint the verifier observed with a witness quorum that contains entry #${i}.</p>
${checkpointTable(d.covering, d.now)}
<details id="covering-note"><summary class="small">signed note</summary><pre>${d.covering.note}</pre></details>`
    : html`<p class="muted">No checkpoint with quorum observed by the verifier covers this entry yet.</p>`
}
${
  d.anchor !== undefined && (d.covering === undefined || d.anchor.note !== d.covering.note)
    ? html`<h3>Latest checkpoint relied on</h3>${checkpointTable(d.anchor, d.now)}`
    : null
}
</section>
<section class="card" id="receipt">
<h2>Receipt</h2>
${
  'text' in d.receipt
    ? html`<p class="small muted">The log's proof that the entry is in its current checkpoint, checkable offline against the log and witness keys.</p>${receiptCheck(d.receipt.check)}<pre>${d.receipt.text}</pre>`
    : html`<p class="down small">The log did not serve a receipt: ${d.receipt.error}</p>`
}
</section>`;
}

function receiptCheck(c: ReceiptCheck | undefined): Html | null {
  if (c === undefined) return null;
  if (!c.ok) {
    return html`<p class="receipt-check"><span class="down">does not verify</span> <span class="small">${c.reason}</span></p>`;
  }
  return html`<p class="receipt-check"><span class="up">verified</span> against the policy: the entry is in the log's checkpoint of size ${c.size}, cosigned by ${c.cosignedBy.length > 0 ? c.cosignedBy.join(', ') : 'no policy witness'} (quorum ${c.quorum ? html`<span class="up">met</span>` : html`<span class="down">not met</span>`}).</p>`;
}

/** A 404 page's main part. */
export function notFoundView(what: string): Html {
  return html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to the overview</a></p>`;
}
