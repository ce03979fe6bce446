/**
 * What the dashboard reads besides the verifier's own state: the log's /healthz and /metrics
 * (whether each witness answered the log's last add-checkpoint), each witness's /healthz, receipts
 * for the evidence page, and simulator reports on disk. Every network read has a short timeout
 * and its answer is kept for a few seconds, so that live-refreshing pages do not load the
 * services they watch. Failures are reported as data (`reachable: false`, an error text), never
 * thrown: the dashboard must render while the log is down.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** One sample of a Prometheus text exposition. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/**
 * The samples of metric `name` in a Prometheus text exposition (version 0.0.4). Lines that do
 * not parse are skipped.
 */
export function metricSamples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    let valuePart: string;
    if (rest.startsWith('{')) {
      const close = findLabelsEnd(rest);
      if (close < 0) continue;
      const parsed = parseLabels(rest.slice(1, close));
      if (parsed === undefined) continue;
      labels = parsed;
      valuePart = rest.slice(close + 1);
    } else if (rest.startsWith(' ') || rest.startsWith('\t')) {
      valuePart = rest;
    } else {
      continue; // another metric whose name starts with this one
    }
    const v = valuePart.trim().split(/\s+/)[0];
    if (v === undefined || v === '') continue;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    if (Number.isNaN(value) && v !== 'NaN') continue;
    out.push({ labels, value });
  }
  return out;
}

function findLabelsEnd(s: string): number {
  let inQuote = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (c === '"') inQuote = true;
    else if (c === '}') return i;
  }
  return -1;
}

function parseLabels(s: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m === null) return s.slice(pos).trim() === '' ? out : undefined;
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    pos = re.lastIndex;
  }
  return out;
}

export interface WitnessView {
  name: string;
  /** the log's view: 1 when its last add-checkpoint to the witness succeeded */
  up?: boolean;
  /** the tree size the witness last cosigned, as the log saw it */
  cosignedSize?: number;
}

export interface LogHealth {
  url: string;
  reachable: boolean;
  error?: string;
  treeSize?: number;
  pending?: number;
  /** size of the latest checkpoint whose cosignatures met the log's quorum */
  witnessedSize?: number;
  witnesses: WitnessView[];
}

export interface WitnessHealth {
  url: string;
  reachable: boolean;
  name?: string;
  error?: string;
}

export interface SimReport {
  /** path below the reports folder, `/`-separated (e.g. `hidden-cluster/report.html`) */
  path: string;
  modified: number;
}

type Fetch = typeof fetch;

/** A value recomputed at most once per `ttlMs`, one computation in flight at a time. */
class Cached<T> {
  private at = Number.NEGATIVE_INFINITY;
  private value: Promise<T> | undefined;
  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number,
    private readonly compute: () => Promise<T>,
  ) {}
  get(): Promise<T> {
    const now = this.clock();
    if (this.value === undefined || now - this.at >= this.ttlMs) {
      this.at = now;
      this.value = this.compute();
    }
    return this.value;
  }
}

/** A short text for a failed request: the timeout, or the underlying cause's message. */
export const errorText = (e: unknown): string => {
  const err = e as { name?: string; message?: string; cause?: { message?: string } };
  if (err?.name === 'TimeoutError') return 'timed out';
  return err?.cause?.message ?? err?.message ?? String(e);
};

export interface SourcesOptions {
  logUrl: string;
  witnessUrls: string[];
  simReportsDir?: string;
  fetch?: Fetch;
  /** timeout of one request, ms (default 1,500) */
  timeoutMs?: number;
  /** how long an answer is reused, ms (default 3,000) */
  ttlMs?: number;
  /** monotonic-enough clock for the cache, ms (default Date.now) */
  clock?: () => number;
}

/** The external reads of the dashboard, cached. */
export class DashboardSources {
  private readonly f: Fetch;
  private readonly timeoutMs: number;
  private readonly logBase: string;
  private readonly logCache: Cached<LogHealth>;
  private readonly witnessCache: Cached<WitnessHealth[]>;
  private readonly reportsCache: Cached<SimReport[]>;
  private readonly receipts = new Map<number, { at: number; text: Promise<string> }>();
  private readonly clock: () => number;
  private readonly ttlMs: number;

  constructor(private readonly opts: SourcesOptions) {
    this.f = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 1_500;
    this.ttlMs = opts.ttlMs ?? 3_000;
    this.clock = opts.clock ?? Date.now;
    this.logBase = opts.logUrl.replace(/\/+$/, '');
    this.logCache = new Cached(this.ttlMs, this.clock, () => this.readLog());
    this.witnessCache = new Cached(this.ttlMs, this.clock, () => this.readWitnesses());
    this.reportsCache = new Cached(10_000, this.clock, async () => this.scanReports());
  }

  get logUrl(): string {
    return this.logBase;
  }

  private async get(url: string): Promise<Response> {
    const r = await this.f(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!r.ok) {
      await r.body?.cancel();
      throw new Error(`HTTP ${r.status}`);
    }
    return r;
  }

  private async readLog(): Promise<LogHealth> {
    const out: LogHealth = { url: this.logBase, reachable: false, witnesses: [] };
    try {
      const h = (await (await this.get(`${this.logBase}/healthz`)).json()) as {
        treeSize?: unknown;
        pending?: unknown;
      };
      out.reachable = true;
      if (typeof h.treeSize === 'number') out.treeSize = h.treeSize;
      if (typeof h.pending === 'number') out.pending = h.pending;
    } catch (e) {
      out.error = errorText(e);
      return out;
    }
    try {
      const text = await (await this.get(`${this.logBase}/metrics`)).text();
      const byName = new Map<string, WitnessView>();
      const view = (name: string) => {
        let v = byName.get(name);
        if (v === undefined) {
          v = { name };
          byName.set(name, v);
        }
        return v;
      };
      for (const s of metricSamples(text, 'vpause_log_witness_up')) {
        if (s.labels.witness !== undefined) view(s.labels.witness).up = s.value === 1;
      }
      for (const s of metricSamples(text, 'vpause_log_witness_cosigned_size')) {
        if (s.labels.witness !== undefined) view(s.labels.witness).cosignedSize = s.value;
      }
      const ws = metricSamples(text, 'vpause_log_witnessed_size')[0];
      if (ws !== undefined) out.witnessedSize = ws.value;
      out.witnesses = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch (e) {
      out.error = `metrics: ${errorText(e)}`;
    }
    return out;
  }

  private async readWitnesses(): Promise<WitnessHealth[]> {
    return Promise.all(
      this.opts.witnessUrls.map(async (url): Promise<WitnessHealth> => {
        const base = url.replace(/\/+$/, '');
        try {
          const h = (await (await this.get(`${base}/healthz`)).json()) as { name?: unknown };
          return {
            url: base,
            reachable: true,
            ...(typeof h.name === 'string' ? { name: h.name } : {}),
          };
        } catch (e) {
          return { url: base, reachable: false, error: errorText(e) };
        }
      }),
    );
  }

  /** The log's health and its view of the witnesses. */
  log(): Promise<LogHealth> {
    return this.logCache.get();
  }

  /** Each configured witness's /healthz. */
  witnesses(): Promise<WitnessHealth[]> {
    return this.witnessCache.get();
  }

  /** The log's C2SP tlog-proof for entry `index` against its current checkpoint. */
  receipt(index: number): Promise<string> {
    const now = this.clock();
    const hit = this.receipts.get(index);
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.text;
    const text = this.get(`${this.logBase}/v1/receipt/${index}`).then((r) => r.text());
    text.catch(() => this.receipts.delete(index));
    if (this.receipts.size > 256) this.receipts.clear();
    this.receipts.set(index, { at: now, text });
    return text;
  }

  /** report.html files below the simulator reports folder (at most 4 levels deep). */
  simReports(): Promise<SimReport[]> {
    return this.reportsCache.get();
  }

  private scanReports(): SimReport[] {
    const dir = this.opts.simReportsDir;
    if (dir === undefined) return [];
    const out: SimReport[] = [];
    const walk = (d: string, depth: number) => {
      let names: string[];
      try {
        names = readdirSync(d).sort();
      } catch {
        return;
      }
      for (const n of names) {
        if (n.startsWith('.')) continue;
        const p = join(d, n);
        let st: ReturnType<typeof statSync>;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (depth < 4) walk(p, depth + 1);
        } else if (n === 'report.html' && st.isFile()) {
          out.push({ path: relative(dir, p).split(sep).join('/'), modified: st.mtimeMs });
        }
        if (out.length >= 200) return;
      }
    };
    walk(dir, 0);
    return out.sort((a, b) => b.modified - a.modified);
  }

  /**
   * The file of a listed simulator report, or undefined when `rel` is not one of them (so no path
   * outside the folder, nor any other file in it, can be served).
   */
  async simReportFile(rel: string): Promise<string | undefined> {
    const dir = this.opts.simReportsDir;
    if (dir === undefined) return undefined;
    const found = (await this.simReports()).find((r) => r.path === rel);
    return found === undefined ? undefined : join(dir, ...found.path.split('/'));
  }
}
