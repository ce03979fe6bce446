/**
 * The verifier's dashboard: server-rendered pages mounted on the verifier service's hono app,
 * reading the verifier's state (verdicts, alerts, the verified index of the log and the
 * checkpoints it observed) and, for health and receipts, the log and the witnesses over HTTP.
 *
 *   GET /, /dashboard             labs and their pauses with verdicts; log, witness and verifier
 *                                 health; recent alerts; simulator reports
 *   GET /labs/{lab}[?pause=id]    pauses with their findings, and the timeline of one pause:
 *                                 reported compute and GPU energy against meter energy and limits
 *   GET /labs/{lab}/pauses/{id}   the verdict, its detection bound and findings with evidence
 *   GET /evidence/{index}         one log entry: the statement, its checkpoint and cosignatures,
 *                                 its receipt, and the findings citing it
 *   GET /sim-reports/{path}       a simulator report.html from the reports folder
 *
 * Each page is complete HTML; with `?part=main` only its main part, which the page's inline
 * script fetches every few seconds to stay live. docs/dashboard.md says where each number
 * comes from.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { PAYLOAD_TYPE } from '../../protocol/src/schemas.js';
import type { Verdict } from '../../protocol/src/verdict.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { checkMeter, KeyTable, labRootKeys, signedBy } from '../verifier/authenticity.js';
import type {
  LogIndex,
  MeterRecord,
  PauseRecord,
  StatementRecord,
  UndecodableEntry,
  UsageRecord,
} from '../verifier/log-index.js';
import type { Alert, PauseSummary, ServiceStatus } from '../verifier/service.js';
import type { ObservedCheckpoint, WitnessTimeline } from '../verifier/timeline.js';
import type { Html } from './html.js';
import { page } from './layout.js';
import { checkReceipt } from './receipt.js';
import { DashboardSources, errorText } from './sources.js';
import { labTimeline } from './timeline.js';
import {
  type Citation,
  type EvidenceData,
  evidenceView,
  type LabRow,
  labView,
  notFoundView,
  overviewView,
  type PauseRow,
  pauseView,
  type WitnessRow,
} from './views.js';

/** What the dashboard needs of the verifier (VerifierCore has it). */
export interface DashboardCore {
  labs(): { lab: string; pauses: PauseSummary[] }[];
  verdict(lab: string, pause: string): Verdict;
  alerts(since?: number, limit?: number): Alert[];
  status(): ServiceStatus;
  readonly follower: {
    readonly index: LogIndex;
    readonly size: number;
    anchor(): ObservedCheckpoint | undefined;
    timeline(): Pick<WitnessTimeline, 'witnessedAt' | 'quorumCheckpoint'>;
  };
  /** the trust policy, when the core exposes it */
  readonly policy?: VPausePolicy;
}

export interface DashboardOptions {
  /** the log's URL prefix (links to entries, receipts and checkpoints; health from /metrics) */
  logUrl: string;
  /** witnesses whose /healthz to show (default: the URLs the policy gives its witnesses) */
  witnessUrls?: string[];
  /** a folder of simulator outputs: every report.html below it is listed and served */
  simReportsDir?: string;
  /** clock, ms since the epoch (default Date.now) */
  now?: () => number;
  /**
   * the verifier's trust policy: facility parameters (the PUE band), authenticity of the charted
   * statements, witness addresses (default: the core's `policy`, if it has one)
   */
  policy?: VPausePolicy;
  fetch?: typeof fetch;
  /** how many recent alerts the overview lists (default 20) */
  recentAlerts?: number;
}

const INDEX_PARAM = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Log entries by index over the verifier's index. The index only appends (in log order) to its
 * lists, so each lookup after the log grew reads only what was appended since.
 */
class EntryLookup {
  private size = -1;
  private readonly byIndex = new Map<number, StatementRecord | UndecodableEntry>();
  /** how much of each list of the index has been read */
  private read = new WeakMap<readonly unknown[], number>();
  private of: LogIndex | undefined;
  /** facility → labs that declared or reported it */
  private readonly facilityLabs = new Map<string, Set<string>>();

  private take<T>(list: readonly T[], each: (x: T) => void): void {
    const from = this.read.get(list) ?? 0;
    for (let k = from; k < list.length; k++) each(list[k]!);
    this.read.set(list, list.length);
  }

  private facility(f: string, lab: string): void {
    let s = this.facilityLabs.get(f);
    if (s === undefined) {
      s = new Set();
      this.facilityLabs.set(f, s);
    }
    s.add(lab);
  }

  private refresh(index: LogIndex): void {
    if (index !== this.of) {
      this.of = index;
      this.size = -1;
      this.byIndex.clear();
      this.facilityLabs.clear();
      this.read = new WeakMap();
    }
    if (index.size === this.size) return;
    const put = (r: StatementRecord | UndecodableEntry) => this.byIndex.set(r.index, r);
    for (const [lab, st] of index.labs) {
      this.take(st.registrations, put);
      this.take(st.pauses, put);
      this.take(st.inventories, (r) => {
        put(r);
        for (const n of r.payload.nodes) this.facility(n.facility, lab);
      });
      for (const list of st.usage.values()) {
        this.take(list, (r) => {
          put(r);
          this.facility(r.payload.facility, lab);
        });
      }
    }
    for (const list of index.meters.values()) this.take(list, put);
    this.take(index.undecodable, put);
    this.size = index.size;
  }

  get(index: LogIndex, i: number): StatementRecord | UndecodableEntry | undefined {
    this.refresh(index);
    return this.byIndex.get(i);
  }

  labsOfFacility(index: LogIndex, facility: string): string[] {
    this.refresh(index);
    return [...(this.facilityLabs.get(facility) ?? [])].sort();
  }
}

function respond(c: Context, title: string, main: Html, nonce: string, status = 200): Response {
  const body = c.req.query('part') === 'main' ? main.value : page({ title, main, nonce }).value;
  return c.body(body, status as 200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
}

const newNonce = () => randomBytes(16).toString('base64');

function verdictRows(core: DashboardCore, lab: string, pauses: PauseSummary[]): PauseRow[] {
  return pauses.map((pause) => {
    try {
      return { pause, verdict: core.verdict(lab, pause.id) };
    } catch (e) {
      return { pause, error: (e as Error).message };
    }
  });
}

/**
 * Adds the dashboard's routes to the verifier's app.
 * @param core the verifier (a VerifierCore, or anything with the same surface)
 */
export function mountDashboard(
  app: OpenAPIHono,
  core: DashboardCore,
  opts: DashboardOptions,
): void {
  const clock = opts.now ?? Date.now;
  const nowS = () => clock() / 1000;
  const policy = (): VPausePolicy | undefined => opts.policy ?? core.policy;
  const policyWitnesses = () => [...(policy()?.tlog.witnesses.values() ?? [])];
  const sources = new DashboardSources({
    logUrl: opts.logUrl,
    witnessUrls:
      opts.witnessUrls ??
      policyWitnesses()
        .map((w) => w.url)
        .filter((u): u is string => u !== undefined),
    ...(opts.simReportsDir !== undefined ? { simReportsDir: opts.simReportsDir } : {}),
    ...(opts.fetch !== undefined ? { fetch: opts.fetch } : {}),
    clock,
  });
  const entries = new EntryLookup();
  const recent = opts.recentAlerts ?? 20;
  const findLab = (lab: string) => core.labs().find((l) => l.lab === lab);

  const overview = async (c: Context) => {
    const nonce = newNonce();
    const labs: LabRow[] = core
      .labs()
      .map((l) => ({ lab: l.lab, pauses: verdictRows(core, l.lab, l.pauses) }));
    const [log, health, reports] = await Promise.all([
      sources.log(),
      sources.witnesses(),
      opts.simReportsDir !== undefined ? sources.simReports() : Promise.resolve(undefined),
    ]);
    const anchor = core.follower.anchor();
    const rows = new Map<string, WitnessRow>();
    const row = (name: string) => {
      let r = rows.get(name);
      if (r === undefined) {
        r = { name };
        rows.set(name, r);
      }
      return r;
    };
    for (const w of policyWitnesses()) {
      const r = row(w.name);
      if (w.url !== undefined) r.url = w.url.replace(/\/+$/, '');
    }
    for (const w of log.witnesses) {
      const r = row(w.name);
      if (w.up !== undefined) r.up = w.up;
      if (w.cosignedSize !== undefined) r.cosignedSize = w.cosignedSize;
    }
    for (const h of health) {
      const r = [...rows.values()].find((x) => x.url === h.url) ?? row(h.name ?? h.url);
      r.url ??= h.url;
      r.health = h;
    }
    for (const cs of anchor?.cosignatures ?? []) row(cs.witness).cosignedAt = cs.time;
    const alerts = core.alerts(0, Number.MAX_SAFE_INTEGER).slice(-recent).reverse();
    const main = overviewView({
      now: nowS(),
      labs,
      status: core.status(),
      ...(anchor !== undefined ? { anchor } : {}),
      log,
      witnesses: [...rows.values()],
      alerts,
      ...(reports !== undefined ? { reports } : {}),
    });
    return respond(c, 'Overview', main, nonce);
  };
  app.get('/', overview);
  app.get('/dashboard', overview);

  app.get('/labs/:lab', (c) => {
    const nonce = newNonce();
    const lab = c.req.param('lab');
    const l = findLab(lab);
    if (l === undefined) {
      return respond(c, 'Not found', notFoundView(`The policy names no lab ${lab}.`), nonce, 404);
    }
    const pauses = verdictRows(core, lab, l.pauses);
    const want = c.req.query('pause');
    const selected = l.pauses.find((p) => p.id === want) ?? l.pauses.at(-1);
    let timeline: ReturnType<typeof labTimeline> | undefined;
    if (selected !== undefined) {
      const rec = core.follower.index.labs
        .get(lab)
        ?.pauses.find((r: PauseRecord) => r.index === selected.index);
      if (rec !== undefined) {
        const p = policy();
        timeline = labTimeline({
          lab,
          index: core.follower.index,
          pause: rec.payload,
          ...(p !== undefined ? { policy: p } : {}),
          now: Math.floor(nowS()),
        });
      }
    }
    const main = labView({
      now: nowS(),
      lab,
      pauses,
      ...(selected !== undefined ? { selected } : {}),
      ...(timeline !== undefined ? { timeline } : {}),
    });
    return respond(c, lab, main, nonce);
  });

  app.get('/labs/:lab/pauses/:id', (c) => {
    const nonce = newNonce();
    const lab = c.req.param('lab');
    const id = c.req.param('id');
    const pause = findLab(lab)?.pauses.find((p) => p.id === id);
    if (pause === undefined) {
      return respond(
        c,
        'Not found',
        notFoundView(`The log has no authentic pause ${id} of lab ${lab}.`),
        nonce,
        404,
      );
    }
    const verdict = core.verdict(lab, id);
    return respond(c, `${lab} / ${id}`, pauseView({ now: nowS(), lab, pause, verdict }), nonce);
  });

  app.get('/evidence/:index', async (c) => {
    const nonce = newNonce();
    const param = c.req.param('index');
    const i = INDEX_PARAM.test(param) ? Number(param) : Number.NaN;
    const index = core.follower.index;
    const entry =
      Number.isSafeInteger(i) && i < core.follower.size ? entries.get(index, i) : undefined;
    if (entry === undefined) {
      return respond(
        c,
        'Not found',
        notFoundView(`The verifier has verified no log entry ${param}.`),
        nonce,
        404,
      );
    }
    const d: EvidenceData = {
      now: nowS(),
      index: i,
      logUrl: sources.logUrl,
      receipt: { error: '' },
      citations: [],
    };
    let labs: string[] = [];
    if ('code' in entry) {
      d.undecodable = entry;
    } else {
      d.record = entry;
      const p = policy();
      if (entry.payloadType === PAYLOAD_TYPE.meter) {
        const m = entry as MeterRecord;
        labs = entries.labsOfFacility(index, m.payload.facility);
        if (p !== undefined) d.authentic = authenticity(checkMeter(p, m));
      } else {
        const lab = (entry.payload as { lab: string }).lab;
        labs = [lab];
        if (p !== undefined) {
          const roots = labRootKeys(p, lab);
          if (entry.payloadType === PAYLOAD_TYPE.usage) {
            const regs = index.labs.get(lab)?.registrations ?? [];
            const keys = new KeyTable(regs.filter((r) => signedBy(r, roots).ok));
            d.authentic = authenticity(keys.check(entry as UsageRecord));
          } else {
            d.authentic = authenticity(signedBy(entry, roots));
          }
        }
      }
      const known = labs.filter((l) => findLab(l) !== undefined);
      if (known[0] !== undefined) d.lab = known[0];
      labs = known;
    }
    const tl = core.follower.timeline();
    const at = tl.witnessedAt(i);
    if (at !== undefined) d.witnessedAt = at;
    const covering = tl.quorumCheckpoint(i);
    if (covering !== undefined) d.covering = covering;
    const anchor = core.follower.anchor();
    if (anchor !== undefined) d.anchor = anchor;
    d.citations = citations(core, labs, i);
    try {
      const text = await sources.receipt(i);
      const p = policy();
      d.receipt =
        p === undefined ? { text } : { text, check: checkReceipt(text, i, entry.leafHash, p) };
    } catch (e) {
      d.receipt = { error: errorText(e) };
    }
    return respond(c, `Entry #${i}`, evidenceView(d), nonce);
  });

  app.get('/sim-reports/*', async (c) => {
    const rel = c.req.path
      .slice('/sim-reports/'.length)
      .split('/')
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return '\u0000';
        }
      })
      .join('/');
    const file = await sources.simReportFile(rel);
    if (file === undefined) {
      const nonce = newNonce();
      return respond(c, 'Not found', notFoundView(`No simulator report ${rel}.`), nonce, 404);
    }
    const data = await readFile(file);
    return c.body(new Uint8Array(data), 200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      // The report is self-contained (inline styles and SVG, no script): allow nothing else.
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
      'x-content-type-options': 'nosniff',
    });
  });
}

function authenticity(a: { ok: true } | { ok: false; reason: string }): {
  ok: boolean;
  reason?: string;
} {
  return a.ok ? { ok: true } : { ok: false, reason: a.reason };
}

/** The findings of the labs' pauses that cite entry `i`. */
function citations(core: DashboardCore, labs: string[], i: number): Citation[] {
  const out: Citation[] = [];
  for (const l of core.labs()) {
    if (!labs.includes(l.lab)) continue;
    for (const p of l.pauses) {
      let v: Verdict;
      try {
        v = core.verdict(l.lab, p.id);
      } catch {
        continue;
      }
      v.findings.forEach((f, k) => {
        const e = f.evidence.find((x) => x.index === i);
        if (e !== undefined) {
          out.push({
            lab: l.lab,
            pause: p.id,
            code: f.code,
            severity: f.severity,
            finding: k,
            role: e.role,
          });
        }
      });
    }
  }
  return out;
}
