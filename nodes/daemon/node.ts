/**
 * `startNode(config)`: the attestation node as a library (the CLI's `vpause node run` is a thin
 * launcher around it). Per reporting interval, aligned to the declared interval:
 *
 *   collector → sample buffer → buildIntervalReport → usage statement (seq, prev from the outbox)
 *   → signed → stored in the outbox (durable) → submitter → log → receipt verified and stored
 *
 * Clock, sleeps, randomness and fetch are injected. No process.exit, no signal handling.
 */
import type { Logger } from 'pino';
import { chainKey, PAYLOAD_TYPE, type UsagePayload } from '../../protocol/src/index.js';
import {
  KEY_TYPE_ED25519,
  keyIdString,
  type SignerKey,
  type VerifierKey,
} from '../../src/note/keys.js';
import { createLogger } from '../../src/util/logger.js';
import type { Collector, TelemetryError } from '../collectors/index.js';
import { assertGpuSample, type GpuSample } from '../collectors/sample.js';
import { buildIntervalReport } from '../report/aggregate.js';
import {
  alignInterval,
  checkIntervalSeconds,
  type Interval,
  toStatementTime,
} from '../report/interval.js';
import { createDaemonApp } from './app.js';
import { AuditResponder } from './audit/responder.js';
import { ChainWriter } from './chain.js';
import { createCollectorFromConfig } from './collector.js';
import { defaultMaxGapMs, type NodeConfig } from './config.js';
import { DaemonError } from './errors.js';
import { LogClient } from './log-client.js';
import { createDaemonMetrics } from './metrics.js';
import { Outbox, type OutboxCounts } from './outbox.js';
import { SampleBuffer } from './sample-buffer.js';
import { type Listening, listen } from './serve.js';
import { Submitter, type SubmitterStatus } from './submitter.js';
import {
  backoffDelay,
  type Random,
  readSignerKey,
  readVerifierKey,
  systemTimer,
  type Timer,
} from './util.js';

/** A node configuration whose keys may be given parsed instead of as files or vkeys. */
export type NodeStartConfig = Omit<NodeConfig, 'key' | 'log' | 'audit'> & {
  key: string | SignerKey;
  log: Omit<NodeConfig['log'], 'key'> & { key: string | VerifierKey };
  audit?: Omit<NonNullable<NodeConfig['audit']>, 'verifiers'> & {
    verifiers: ReadonlyArray<string | VerifierKey>;
  };
};

/** Injected dependencies (defaults: wall clock, Math.random, global fetch, a pino logger). */
export interface NodeDeps {
  timer?: Timer;
  random?: Random;
  fetch?: typeof fetch;
  logger?: Logger;
  /** A collector to use instead of the configured one (tests, the simulator). */
  collector?: Collector;
  /** Register Node.js process metrics (default true; off for many nodes in one process). */
  processMetrics?: boolean;
}

/** Why a node stopped. */
export type NodeExit =
  | { reason: 'closed' }
  | { reason: 'conflict'; seq: number; detail: string }
  | { reason: 'failed'; error: unknown };

/** What /healthz shows. */
export interface NodeStatus {
  ok: boolean;
  chain: string;
  nextSeq: number;
  outbox: OutboxCounts;
  submitter: SubmitterStatus;
  collector: {
    kind: string;
    samples: number;
    late: number;
    errors: number;
    lastBatchMs: number | null;
  };
  /** The next interval to report. */
  next: { start: string; end: string };
  /** Why the last attempt to store a report failed (it is retried), while it keeps failing. */
  reportError?: { reason: string; atMs: number };
}

export interface RunningNode extends AsyncDisposable {
  /** Base URL of the audit API (/v1/audit, /healthz, /metrics), when configured. */
  url: string | undefined;
  chain: string;
  outbox: Outbox;
  status(): NodeStatus;
  /** Resolves once the node has stopped, by close() or by itself (seq conflict, failure). */
  done: Promise<NodeExit>;
  close(): Promise<void>;
}

async function keyOf<T>(k: string | T, read: (s: string) => Promise<T>): Promise<T> {
  return typeof k === 'string' ? read(k) : k;
}

/**
 * Starts an attestation node.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID (keys, interval, replay files), OUTBOX_LOCKED,
 *   OUTBOX_IDENTITY, OUTBOX_STORAGE; or the listener's bind error
 * @throws {TelemetryError} CONFIG_INVALID from the collector
 */
export async function startNode(cfg: NodeStartConfig, deps: NodeDeps = {}): Promise<RunningNode> {
  const timer = deps.timer ?? systemTimer;
  const random = deps.random ?? Math.random;
  const logger = deps.logger ?? createLogger('vpause-node');
  const id = cfg.identity;
  try {
    checkIntervalSeconds(cfg.intervalSeconds);
  } catch (e) {
    throw new DaemonError('DAEMON_CONFIG_INVALID', (e as Error).message, { cause: e });
  }
  const signer = await keyOf(cfg.key, readSignerKey);
  const logKey = await keyOf(cfg.log.key, (s) => readVerifierKey(s));
  const verifiers = await Promise.all(
    (cfg.audit?.verifiers ?? []).map((v) => keyOf(v, (s) => readVerifierKey(s))),
  );
  for (const k of [signer, logKey, ...verifiers]) {
    if (k.type !== KEY_TYPE_ED25519) {
      throw new DaemonError('DAEMON_CONFIG_INVALID', `key ${k.name} is not an Ed25519 note key`);
    }
  }
  const chain = chainKey(PAYLOAD_TYPE.usage, { ...id } as UsagePayload)!;
  const label = `${id.facility}/${id.cluster}/${id.node}`;
  const maxGapMs = cfg.maxGapMs ?? defaultMaxGapMs(cfg.collector);
  const lenMs = cfg.intervalSeconds * 1000;
  const metrics = createDaemonMetrics('vpause_node', undefined, deps.processMetrics ?? true);
  let collectorErrors = 0;
  const onError = (e: TelemetryError) => {
    collectorErrors++;
    metrics.sourceErrors.inc();
    logger.warn({ code: e.code, err: e.message }, 'telemetry collection error');
  };
  const collector =
    deps.collector ?? (await createCollectorFromConfig(cfg.collector, { timer, onError }));

  const outbox = Outbox.open({ path: cfg.outbox, chain });
  let http: Listening | undefined;
  const ac = new AbortController();
  const loops: Promise<unknown>[] = [];
  try {
    const client = new LogClient({
      url: cfg.log.url,
      logKey,
      timeoutMs: cfg.log.timeoutMs,
      now: () => timer.now(),
      ...(cfg.log.origin !== undefined ? { origin: cfg.log.origin } : {}),
      ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}),
    });
    const writer = new ChainWriter(outbox, signer, PAYLOAD_TYPE.usage, () => timer.now());
    const submitter = new Submitter({
      outbox,
      client,
      timer,
      random,
      logger,
      metrics,
      backoff: { minMs: cfg.submit.minBackoffMs, maxMs: cfg.submit.maxBackoffMs },
      receiptPoll: { minMs: cfg.submit.receiptPollMs, maxMs: cfg.submit.maxReceiptPollMs },
    });
    const buffer = new SampleBuffer();
    const signal = ac.signal;
    let samplesIn = 0;
    let lastBatchMs: number | null = null;

    // ---- where the chain resumes -------------------------------------------------------------
    const tip = outbox.tip();
    let next: Interval;
    if (tip.lastEndMs === undefined) {
      next = alignInterval(timer.now(), cfg.intervalSeconds);
    } else {
      // Continue right after the last stored interval, up to the next aligned boundary.
      const start = tip.lastEndMs;
      next = { startMs: start, endMs: (Math.floor(start / lenMs) + 1) * lenMs };
    }
    buffer.forgetBefore(next.startMs - maxGapMs);
    metrics.lastSeq.set(tip.nextSeq - 1);
    logger.info(
      {
        chain,
        nextSeq: tip.nextSeq,
        next: toStatementTime(next.startMs),
        keyid: keyIdString(signer),
      },
      'node starting',
    );

    const onSamples = (batch: GpuSample[]) => {
      const valid: GpuSample[] = [];
      for (const s of batch) {
        try {
          assertGpuSample(s);
          valid.push(s);
        } catch (e) {
          onError(e as TelemetryError);
        }
      }
      const lateBefore = buffer.late;
      const kept = buffer.add(valid);
      samplesIn += kept;
      lastBatchMs = timer.now();
      metrics.inputs.inc({ result: 'used' }, kept);
      if (buffer.late > lateBefore)
        metrics.inputs.inc({ result: 'late' }, buffer.late - lateBefore);
    };

    // ---- collection: restarted with backoff when it fails ------------------------------------
    const collecting = (async () => {
      let attempt = 0;
      while (!signal.aborted) {
        try {
          await collector.run(onSamples, signal);
          if (!signal.aborted) logger.info({ kind: collector.kind }, 'collector finished');
          return;
        } catch (e) {
          collectorErrors++;
          metrics.sourceErrors.inc();
          logger.error({ err: (e as Error).message }, 'collector failed; restarting it');
        }
        await timer.sleep(backoffDelay(attempt++, { minMs: 1000, maxMs: 60_000 }, random), signal);
      }
    })();
    loops.push(collecting);

    // ---- reporting: one statement per interval, stored before submission ---------------------
    let lastPurgeMs = Number.NEGATIVE_INFINITY;
    let reportError: { reason: string; atMs: number } | undefined;
    const reportOnce = (iv: Interval) => {
      const report = buildIntervalReport(buffer.window(iv, maxGapMs), iv, {
        maxGapMs,
        source: collector.kind,
        node: label,
      });
      const row = writer.append(
        (link) => ({
          v: 1,
          lab: id.lab,
          facility: id.facility,
          cluster: id.cluster,
          node: id.node,
          seq: link.seq,
          prev: link.prev,
          start: toStatementTime(iv.startMs),
          end: toStatementTime(iv.endMs),
          ...report.usage,
        }),
        { startMs: iv.startMs, endMs: iv.endMs, body: report.bodyBytes, leaves: report.leaves },
      );
      metrics.statements.inc();
      metrics.lastSeq.set(row.seq);
      submitter.wake();
      logger.info(
        {
          seq: row.seq,
          start: toStatementTime(iv.startMs),
          gpus: report.usage.gpus,
          energyJ: report.usage.energyJ,
          workload: report.usage.workload,
          samples: report.usage.samples.count,
        },
        'usage report stored',
      );
      const now = timer.now();
      if (now - lastPurgeMs > 3_600_000) {
        lastPurgeMs = now;
        const n = outbox.purgePrivate(now - cfg.retentionDays * 86_400_000);
        if (n > 0) logger.info({ reports: n }, 'purged private detail past retention');
      }
    };
    const reporting = (async () => {
      let attempt = 0;
      while (!signal.aborted) {
        const due = next.endMs + cfg.settleMs;
        const now = timer.now();
        if (now < due) {
          await timer.sleep(Math.min(due - now, 60_000), signal);
          continue;
        }
        try {
          reportOnce(next);
          attempt = 0;
          reportError = undefined;
        } catch (e) {
          reportError = { reason: (e as Error).message, atMs: timer.now() };
          // Nothing advanced: the same interval is tried again.
          logger.error(
            { err: (e as Error).message, code: (e as { code?: string }).code },
            'could not store a report; retrying',
          );
          await timer.sleep(
            backoffDelay(attempt++, { minMs: 1000, maxMs: 60_000 }, random),
            signal,
          );
          continue;
        }
        next = { startMs: next.endMs, endMs: next.endMs + lenMs };
        buffer.forgetBefore(next.startMs - maxGapMs);
      }
    })();
    loops.push(reporting);

    // ---- submission -------------------------------------------------------------------------
    const submitting = submitter.run(signal).then(
      (exit): NodeExit => (exit.reason === 'conflict' ? exit : { reason: 'closed' }),
      (error: unknown): NodeExit => {
        logger.fatal({ err: (error as Error).message }, 'submitter failed');
        return { reason: 'failed', error };
      },
    );
    loops.push(submitting);

    const status = (): NodeStatus => {
      const sub = submitter.status;
      return {
        ok: sub.state !== 'conflict' && !signal.aborted && reportError === undefined,
        chain,
        nextSeq: outbox.tip().nextSeq,
        outbox: outbox.counts(),
        submitter: sub,
        collector: {
          kind: collector.kind,
          samples: samplesIn,
          late: buffer.late,
          errors: collectorErrors,
          lastBatchMs,
        },
        next: { start: toStatementTime(next.startMs), end: toStatementTime(next.endMs) },
        ...(reportError !== undefined ? { reportError } : {}),
      };
    };

    if (cfg.audit !== undefined) {
      const responder = new AuditResponder({
        outbox,
        identity: { lab: id.lab, facility: id.facility, cluster: id.cluster, node: id.node },
        verifiers,
        windowMs: cfg.audit.windowSeconds * 1000,
        timer,
      });
      const app = createDaemonApp({
        title: 'vpause attestation node',
        description: `Audit API of node ${id.lab}/${label}`,
        audit: responder,
        onAudit: (o) => {
          metrics.audits.inc({ result: o.status === 200 ? 'ok' : o.reason });
          if (o.status === 200) {
            logger.info(
              { verifier: o.verifier, reports: o.challenge.reports.length },
              'audit challenge answered',
            );
          } else {
            logger.warn({ status: o.status, reason: o.reason }, 'audit challenge refused');
          }
        },
        health: () => {
          const s = status();
          return { ok: s.ok, body: s as unknown as Record<string, unknown> };
        },
        metrics: () => {
          const c = outbox.counts();
          metrics.outboxUnsequenced.set(c.unsequenced);
          metrics.outboxUnreceipted.set(c.unreceipted);
          return metrics.registry.metrics();
        },
        metricsContentType: metrics.registry.contentType,
      });
      http = await listen(app, cfg.audit.listen.host, cfg.audit.listen.port);
    }

    let closed = false;
    let exit: NodeExit | undefined;
    const stopped = (async (): Promise<NodeExit> => {
      const e = await submitting;
      ac.abort(); // a conflict or failure stops collection and reporting too
      await Promise.all([collecting, reporting]);
      exit = e;
      return e;
    })();
    const close = async () => {
      if (!closed) {
        closed = true;
        ac.abort();
        await stopped;
        await http?.close();
        outbox.close();
        logger.info({ chain }, 'node stopped');
      }
    };
    const done = stopped.then(async (e) => {
      // A node that stopped by itself releases its resources too.
      if (!closed && e.reason !== 'closed') await close();
      return exit ?? e;
    });
    return {
      url: http?.url,
      chain,
      outbox,
      status,
      done,
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (e) {
    ac.abort();
    await Promise.allSettled(loops);
    await http?.close();
    outbox.close();
    throw e;
  }
}
