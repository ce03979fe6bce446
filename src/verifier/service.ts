/**
 * The verifier as a service: follows the log continuously (./sync.ts: each poll adds only the new
 * entries to the index, per lab), answers verdict questions from that state without re-reading
 * the log, and raises alerts as findings appear. `startVerifier(config)` is the library launcher
 * (HTTP on ./app.ts), returning something disposable; `VerifierCore` is the same without HTTP.
 */
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { labOfRootKeyName } from '../../protocol/src/statements.js';
import { formatTime, parseTime } from '../../protocol/src/time.js';
import type { Finding, SignedVerdict, Verdict } from '../../protocol/src/verdict.js';
import { mountDashboard } from '../dashboard/index.js';
import { type SignerKey, verifierKeyOf } from '../note/keys.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { silentLogger } from '../util/logger.js';
import { createVerifierApp } from './app.js';
import { labRootKeys, signedBy } from './authenticity.js';
import { VerifierError } from './errors.js';
import { type Evaluation, evaluatePause, type Question } from './evaluate.js';
import { signVerdict } from './signed-verdict.js';
import { LogFollower, type SyncReport } from './sync.js';

export interface VerifierServiceConfig {
  policy: VPausePolicy;
  /** the log's tlog-tiles URL prefix */
  logUrl: string;
  /** cache directory (SQLite state); default: memory */
  cacheDir?: string;
  /** how often to poll the log, ms (default 5,000) */
  pollIntervalMs?: number;
  /** clock, ms since the epoch */
  now?: () => number;
  fetch?: typeof fetch;
  logger?: Logger;
  threads?: number;
  /** alerts kept in memory (default 10,000) */
  maxAlerts?: number;
  /** a directory of simulator reports (report.html) the dashboard links to */
  simReportsDir?: string;
  /** the verifier key (policy `verifier-key`): verdicts are then also served signed */
  signer?: SignerKey;
}

/** A finding as it appeared. */
export interface Alert {
  /** increasing from 1 */
  id: number;
  /** when the verifier saw it (its clock) */
  time: string;
  lab: string;
  pause: string;
  finding: Finding;
}

export interface PauseSummary {
  id: string;
  start: string;
  end: string | null;
  index: number;
  leafHash: string;
}

export interface ServiceStatus {
  size: number;
  checkpoint: { size: number; quorum: boolean } | null;
  lastSync: string | null;
  lastError: string | null;
  forks: number;
}

interface VerifierMetrics {
  registry: Registry;
  size: Gauge;
  syncs: Counter<'result'>;
  syncSeconds: Histogram;
  evaluations: Counter<'verdict'>;
  alerts: Counter<'code'>;
}

function createMetrics(): VerifierMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vpause_verifier_process_' });
  return {
    registry,
    size: new Gauge({
      name: 'vpause_verifier_log_size',
      help: 'Entries verified and indexed',
      registers: [registry],
    }),
    syncs: new Counter({
      name: 'vpause_verifier_syncs_total',
      help: 'Log syncs, by result (ok, fork, or the error code)',
      labelNames: ['result'],
      registers: [registry],
    }),
    syncSeconds: new Histogram({
      name: 'vpause_verifier_sync_seconds',
      help: 'Duration of one sync',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    evaluations: new Counter({
      name: 'vpause_verifier_evaluations_total',
      help: 'Verdicts computed, by verdict',
      labelNames: ['verdict'],
      registers: [registry],
    }),
    alerts: new Counter({
      name: 'vpause_verifier_alerts_total',
      help: 'Alerts raised, by finding code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}

/** The verifier service without HTTP. */
export class VerifierCore {
  readonly follower: LogFollower;
  readonly metrics: VerifierMetrics;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly alertList: Alert[] = [];
  private alertSeq = 0;
  private readonly seen = new Map<string, Set<string>>();
  private readonly cache = new Map<string, { key: string; ev: Evaluation }>();
  private lastSync: number | null = null;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly cfg: VerifierServiceConfig) {
    this.now = cfg.now ?? Date.now;
    this.log = cfg.logger ?? silentLogger();
    this.metrics = createMetrics();
    this.follower = new LogFollower({
      policy: cfg.policy,
      logUrl: cfg.logUrl,
      now: this.now,
      ...(cfg.cacheDir !== undefined ? { cacheDir: cfg.cacheDir } : {}),
      ...(cfg.fetch !== undefined ? { fetch: cfg.fetch } : {}),
      ...(cfg.threads !== undefined ? { threads: cfg.threads } : {}),
      logger: this.log,
    });
  }

  private asOf(): number {
    return Math.floor(this.now() / 1000);
  }

  /**
   * Syncs once and raises alerts for new findings.
   * @throws {VPauseError} the sync's errors (also recorded in the status)
   */
  async syncOnce(): Promise<SyncReport> {
    const end = this.metrics.syncSeconds.startTimer();
    try {
      const r = await this.follower.sync();
      this.metrics.syncs.inc({ result: r.fork ? 'fork' : 'ok' });
      this.metrics.size.set(this.follower.size);
      this.lastSync = this.asOf();
      this.lastError = null;
      this.refreshAlerts();
      return r;
    } catch (e) {
      this.metrics.syncs.inc({ result: (e as { code?: string }).code ?? 'ERROR' });
      this.lastError = (e as Error).message;
      throw e;
    } finally {
      end();
    }
  }

  /** Polls the log every `pollIntervalMs` until closed. */
  start(): void {
    if (this.loop !== undefined) return;
    const interval = this.cfg.pollIntervalMs ?? 5_000;
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.syncOnce();
        } catch (e) {
          this.log.error({ err: e }, 'sync failed');
        }
        if (this.stopped) break;
        await new Promise<void>((r) => {
          this.wake = r;
          this.timer = setTimeout(r, interval);
        });
      }
    })();
  }

  /** The labs of the policy and the pauses each has declared in the log (authentic ones). */
  labs(): { lab: string; pauses: PauseSummary[] }[] {
    const labs = [
      ...new Set(
        this.cfg.policy.labs
          .map((l) => labOfRootKeyName(l.key.name))
          .filter((x): x is string => x !== null),
      ),
    ].sort();
    return labs.map((lab) => {
      const roots = labRootKeys(this.cfg.policy, lab);
      const seen = new Set<string>();
      const pauses: PauseSummary[] = [];
      for (const r of this.follower.index.labs.get(lab)?.pauses ?? []) {
        if (seen.has(r.payload.id) || !signedBy(r, roots).ok) continue;
        seen.add(r.payload.id);
        pauses.push({
          id: r.payload.id,
          start: r.payload.start,
          end: r.payload.end,
          index: r.index,
          leafHash: r.leafHash,
        });
      }
      return { lab, pauses };
    });
  }

  /**
   * Evaluates a question against the current state.
   * @throws {VerifierError} PAUSE_NOT_FOUND, QUESTION_INVALID
   */
  evaluate(q: Question, asOf = this.asOf()): Evaluation {
    const key = `${this.follower.size}/${this.follower.checkpoints.length}/${asOf}/${q.from ?? ''}/${q.to ?? ''}`;
    const id = `${q.lab}\u0000${q.pause}`;
    const hit = this.cache.get(id);
    if (hit !== undefined && hit.key === key) return hit.ev;
    const ev = evaluatePause({
      policy: this.cfg.policy,
      index: this.follower.index,
      timeline: this.follower.timeline(),
      anchor: this.follower.anchor(),
      forks: this.follower.forks,
      question: q,
      asOf,
    });
    this.metrics.evaluations.inc({ verdict: ev.verdict.verdict });
    if (q.from === undefined && q.to === undefined) this.cache.set(id, { key, ev });
    return ev;
  }

  /** The verdict on a pause over its default window. @throws {VerifierError} PAUSE_NOT_FOUND */
  verdict(lab: string, pause: string): Verdict {
    return this.evaluate({ lab, pause }).verdict;
  }

  /** The verifier key's vkey, when the service has one. */
  verifierKey(): string | undefined {
    return this.cfg.signer === undefined ? undefined : verifierKeyOf(this.cfg.signer).vkey;
  }

  /**
   * A verdict signed with the verifier key (./signed-verdict.ts).
   * @throws {VerifierError} VERIFIER_KEY_MISSING when the service has no verifier key
   */
  signed(verdict: Verdict): SignedVerdict {
    if (this.cfg.signer === undefined) {
      throw new VerifierError(
        'VERIFIER_KEY_MISSING',
        'this verifier signs no verdicts (its policy has no verifier-key line)',
      );
    }
    return signVerdict(verdict, this.cfg.signer);
  }

  /** Alerts after `since` (an alert id), oldest first, at most `limit`. */
  alerts(since = 0, limit = 1000): Alert[] {
    return this.alertList.filter((a) => a.id > since).slice(0, limit);
  }

  status(): ServiceStatus {
    const a = this.follower.anchor();
    return {
      size: this.follower.size,
      checkpoint: a === undefined ? null : { size: a.size, quorum: a.quorum },
      lastSync: this.lastSync === null ? null : formatTime(this.lastSync),
      lastError: this.lastError,
      forks: this.follower.forks.length,
    };
  }

  /** Re-evaluates every declared pause and records findings not seen before as alerts. */
  private refreshAlerts(): void {
    const asOf = this.asOf();
    for (const { lab, pauses } of this.labs()) {
      for (const p of pauses) {
        if (p.end !== null && parseTime(p.end) < asOf - 86_400 * 30) continue; // long over
        let v: Verdict;
        try {
          v = this.evaluate({ lab, pause: p.id }, asOf).verdict;
        } catch (e) {
          this.log.warn({ err: e, lab, pause: p.id }, 'evaluation failed');
          continue;
        }
        const id = `${lab}\u0000${p.id}`;
        let seen = this.seen.get(id);
        if (seen === undefined) {
          seen = new Set();
          this.seen.set(id, seen);
        }
        for (const f of v.findings) {
          const k = `${f.code}|${JSON.stringify(f.subject ?? {})}|${f.evidence.map((e) => e.index).join(',')}|${f.evidenceOmitted ?? 0}`;
          if (seen.has(k)) continue;
          seen.add(k);
          this.alertList.push({
            id: ++this.alertSeq,
            time: formatTime(asOf),
            lab,
            pause: p.id,
            finding: f,
          });
          this.metrics.alerts.inc({ code: f.code });
          this.log.warn({ lab, pause: p.id, code: f.code }, f.message);
        }
      }
    }
    const max = this.cfg.maxAlerts ?? 10_000;
    if (this.alertList.length > max) this.alertList.splice(0, this.alertList.length - max);
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    this.follower.close();
  }
}

export interface RunningVerifier extends AsyncDisposable {
  url: string;
  port: number;
  core: VerifierCore;
  close(): Promise<void>;
}

/**
 * Starts the verifier service: one sync before listening (so the first answers have state), then
 * polling, and the HTTP API of ./app.ts.
 * @throws {VPauseError} the first sync's errors (unreachable log, policy matching no log key)
 * @throws {Error} when the address cannot be listened on
 */
export async function startVerifier(
  cfg: VerifierServiceConfig & { host: string; port: number },
): Promise<RunningVerifier> {
  const core = new VerifierCore(cfg);
  try {
    await core.syncOnce();
  } catch (e) {
    await core.close();
    throw e;
  }
  core.start();
  const app = createVerifierApp(core);
  mountDashboard(app, core, {
    logUrl: cfg.logUrl,
    policy: cfg.policy,
    ...(cfg.now ? { now: cfg.now } : {}),
    ...(cfg.fetch ? { fetch: cfg.fetch } : {}),
    ...(cfg.simReportsDir !== undefined ? { simReportsDir: cfg.simReportsDir } : {}),
  });
  let server: ReturnType<typeof serve>;
  try {
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: cfg.host, port: cfg.port }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (e) {
    await core.close();
    throw e;
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.port;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  (cfg.logger ?? silentLogger()).info({ url, log: cfg.logUrl }, 'verifier listening');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((r) => {
      server.close(() => r());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    await core.close();
  };
  return { url, port, core, close, [Symbol.asyncDispose]: close };
}
