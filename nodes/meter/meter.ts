/**
 * `startMeter(config)`: the facility meter signer as a library (`vpause meter run` is a thin
 * launcher). Readings from the source are integrated per aligned interval into meter statements
 * (DESIGN §3: facility, meter, seq, prev, start, end, energyJ, counterJ), signed with the meter
 * key, stored in the same durable outbox and submitted by the same submitter as the node's
 * usage reports.
 */
import type { Logger } from 'pino';
import { chainKey, type MeterPayload, PAYLOAD_TYPE, parseTime } from '../../protocol/src/index.js';
import { fromUtf8 } from '../../src/core/bytes.js';
import { KEY_TYPE_ED25519, type SignerKey, type VerifierKey } from '../../src/note/keys.js';
import { createLogger } from '../../src/util/logger.js';
import { createDaemonApp } from '../daemon/app.js';
import { ChainWriter } from '../daemon/chain.js';
import { DaemonError } from '../daemon/errors.js';
import { LogClient } from '../daemon/log-client.js';
import { createDaemonMetrics } from '../daemon/metrics.js';
import { Outbox, type OutboxCounts } from '../daemon/outbox.js';
import { type Listening, listen } from '../daemon/serve.js';
import { Submitter, type SubmitterStatus } from '../daemon/submitter.js';
import {
  backoffDelay,
  type Random,
  readSignerKey,
  readVerifierKey,
  systemTimer,
  type Timer,
} from '../daemon/util.js';
import { checkIntervalSeconds, toStatementTime } from '../report/interval.js';
import type { MeterConfig, MeterSourceConfig } from './config.js';
import { MeterIntegrator, type MeterReading } from './readings.js';
import {
  createHttpMeterSource,
  createReplayMeterSource,
  createSyntheticMeterSource,
  type HttpMeterOptions,
  type MeterSource,
  readMeterCsv,
} from './sources.js';

/** A meter configuration whose keys may be given parsed. */
export type MeterStartConfig = Omit<MeterConfig, 'key' | 'log'> & {
  key: string | SignerKey;
  log: Omit<MeterConfig['log'], 'key'> & { key: string | VerifierKey };
};

export interface MeterDeps {
  timer?: Timer;
  random?: Random;
  fetch?: typeof fetch;
  /** The fetch the http source polls with (default: global fetch). */
  sourceFetch?: HttpMeterOptions['fetch'];
  logger?: Logger;
  /** A source to use instead of the configured one. */
  source?: MeterSource;
  processMetrics?: boolean;
}

export type MeterExit =
  | { reason: 'closed' }
  | { reason: 'conflict'; seq: number; detail: string }
  | { reason: 'failed'; error: unknown };

export interface MeterStatus {
  ok: boolean;
  chain: string;
  nextSeq: number;
  outbox: OutboxCounts;
  submitter: SubmitterStatus;
  source: {
    kind: string;
    readings: number;
    refused: number;
    errors: number;
    lastReadingMs: number | null;
  };
}

export interface RunningMeter extends AsyncDisposable {
  url: string | undefined;
  chain: string;
  outbox: Outbox;
  status(): MeterStatus;
  done: Promise<MeterExit>;
  close(): Promise<void>;
}

/**
 * Builds the source a meter configuration names.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID
 */
export async function createMeterSourceFromConfig(
  c: MeterSourceConfig,
  deps: { timer: Timer; fetch?: HttpMeterOptions['fetch']; onError: (e: Error) => void },
): Promise<MeterSource> {
  switch (c.kind) {
    case 'synthetic':
      return createSyntheticMeterSource({ ...c, timer: deps.timer });
    case 'replay':
      return createReplayMeterSource({
        readings: await readMeterCsv(c.file),
        ...(c.shiftTo !== undefined ? { shiftToMs: parseTime(c.shiftTo) * 1000 } : {}),
        timer: deps.timer,
      });
    case 'http':
      return createHttpMeterSource({
        url: c.url,
        periodMs: c.periodMs,
        timeoutMs: c.timeoutMs,
        counterField: c.counterField,
        scale: c.scale,
        ...(c.timeField !== undefined ? { timeField: c.timeField } : {}),
        ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}),
        timer: deps.timer,
        onError: deps.onError,
      });
  }
}

/**
 * Starts a facility meter signer.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID, OUTBOX_LOCKED, OUTBOX_IDENTITY, OUTBOX_STORAGE
 */
export async function startMeter(
  cfg: MeterStartConfig,
  deps: MeterDeps = {},
): Promise<RunningMeter> {
  const timer = deps.timer ?? systemTimer;
  const random = deps.random ?? Math.random;
  const logger = deps.logger ?? createLogger('vpause-meter');
  try {
    checkIntervalSeconds(cfg.intervalSeconds);
  } catch (e) {
    throw new DaemonError('DAEMON_CONFIG_INVALID', (e as Error).message, { cause: e });
  }
  const signer = typeof cfg.key === 'string' ? await readSignerKey(cfg.key) : cfg.key;
  const logKey = typeof cfg.log.key === 'string' ? await readVerifierKey(cfg.log.key) : cfg.log.key;
  for (const k of [signer, logKey]) {
    if (k.type !== KEY_TYPE_ED25519) {
      throw new DaemonError('DAEMON_CONFIG_INVALID', `key ${k.name} is not an Ed25519 note key`);
    }
  }
  const { facility, meter } = cfg.identity;
  const chain = chainKey(PAYLOAD_TYPE.meter, { facility, meter } as MeterPayload)!;
  const metrics = createDaemonMetrics('vpause_meter', undefined, deps.processMetrics ?? true);
  let sourceErrors = 0;
  const onError = (e: Error) => {
    sourceErrors++;
    metrics.sourceErrors.inc();
    logger.warn({ err: e.message }, 'meter source error');
  };
  const source =
    deps.source ??
    (await createMeterSourceFromConfig(cfg.source, {
      timer,
      onError,
      ...(deps.sourceFetch !== undefined ? { fetch: deps.sourceFetch } : {}),
    }));
  const outbox = Outbox.open({ path: cfg.outbox, chain });
  let http: Listening | undefined;
  const ac = new AbortController();
  const loops: Promise<unknown>[] = [];
  try {
    const lenMs = cfg.intervalSeconds * 1000;
    const tip = outbox.tip();
    let resume: MeterReading | undefined;
    if (tip.lastPayload !== undefined && tip.lastEndMs !== undefined) {
      const last = JSON.parse(fromUtf8(tip.lastPayload)) as MeterPayload;
      resume = { t: tip.lastEndMs, counterJ: last.counterJ };
    }
    const integrator = new MeterIntegrator(lenMs, resume);
    const client = new LogClient({
      url: cfg.log.url,
      logKey,
      timeoutMs: cfg.log.timeoutMs,
      now: () => timer.now(),
      ...(cfg.log.origin !== undefined ? { origin: cfg.log.origin } : {}),
      ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}),
    });
    const writer = new ChainWriter(outbox, signer, PAYLOAD_TYPE.meter, () => timer.now());
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
    const signal = ac.signal;
    let readings = 0;
    let lastReadingMs: number | null = null;
    let wakeAc: AbortController | undefined;
    logger.info({ chain, nextSeq: tip.nextSeq, resume }, 'meter starting');

    let woken = false;
    const waitForReading = async (ms: number) => {
      if (woken) {
        woken = false;
        return;
      }
      const ac2 = new AbortController();
      wakeAc = ac2;
      await timer.sleep(ms, AbortSignal.any([signal, ac2.signal]));
      wakeAc = undefined;
      woken = false;
    };
    const onReading = (r: MeterReading) => {
      if (integrator.add(r)) {
        readings++;
        lastReadingMs = timer.now();
        metrics.inputs.inc({ result: 'used' });
        woken = true;
        wakeAc?.abort();
      } else {
        metrics.inputs.inc({ result: 'late' });
      }
    };

    const reading = (async () => {
      let attempt = 0;
      while (!signal.aborted) {
        try {
          await source.run(onReading, signal, resume);
          if (!signal.aborted) logger.info({ kind: source.kind }, 'meter source finished');
          return;
        } catch (e) {
          onError(e as Error);
        }
        await timer.sleep(backoffDelay(attempt++, { minMs: 1000, maxMs: 60_000 }, random), signal);
      }
    })();
    loops.push(reading);

    const settling = (async () => {
      let attempt = 0;
      while (!signal.aborted) {
        const iv = integrator.next();
        const now = timer.now();
        const due = iv !== undefined ? iv.endMs + cfg.settleMs : undefined;
        if (due === undefined || now < due) {
          // Wait for the interval to end, or for the first readings.
          await waitForReading(due === undefined ? 60_000 : Math.min(due - now, 60_000));
          continue;
        }
        // Readings may not reach the interval's end yet: then wait for them.
        const s = integrator.peek();
        if (s === undefined) {
          await waitForReading(60_000);
          continue;
        }
        try {
          const row = writer.append(
            (link) => ({
              v: 1,
              facility,
              meter,
              seq: link.seq,
              prev: link.prev,
              start: toStatementTime(s.startMs),
              end: toStatementTime(s.endMs),
              energyJ: s.energyJ,
              counterJ: s.counterJ,
            }),
            { startMs: s.startMs, endMs: s.endMs },
          );
          integrator.advance(s);
          attempt = 0;
          metrics.statements.inc();
          metrics.lastSeq.set(row.seq);
          submitter.wake();
          logger.info(
            {
              seq: row.seq,
              start: toStatementTime(s.startMs),
              energyJ: s.energyJ,
              resets: s.resets,
            },
            'meter reading stored',
          );
        } catch (e) {
          logger.error({ err: (e as Error).message }, 'could not store a meter reading; retrying');
          await timer.sleep(
            backoffDelay(attempt++, { minMs: 1000, maxMs: 60_000 }, random),
            signal,
          );
        }
      }
    })();
    loops.push(settling);

    const submitting = submitter.run(signal).then(
      (exit): MeterExit => (exit.reason === 'conflict' ? exit : { reason: 'closed' }),
      (error: unknown): MeterExit => ({ reason: 'failed', error }),
    );
    loops.push(submitting);

    const status = (): MeterStatus => {
      const sub = submitter.status;
      return {
        ok: sub.state !== 'conflict' && !signal.aborted,
        chain,
        nextSeq: outbox.tip().nextSeq,
        outbox: outbox.counts(),
        submitter: sub,
        source: {
          kind: source.kind,
          readings,
          refused: integrator.refused,
          errors: sourceErrors,
          lastReadingMs,
        },
      };
    };

    if (cfg.listen !== undefined) {
      const app = createDaemonApp({
        title: 'vpause facility meter',
        description: `Health and metrics of meter ${facility}/${meter}`,
        health: () => {
          const s = status();
          return { ok: s.ok, body: s as unknown as Record<string, unknown> };
        },
        metrics: () => metrics.registry.metrics(),
        metricsContentType: metrics.registry.contentType,
      });
      http = await listen(app, cfg.listen.host, cfg.listen.port);
    }

    let closed = false;
    const stopped = (async (): Promise<MeterExit> => {
      const e = await submitting;
      ac.abort();
      await Promise.all([reading, settling]);
      return e;
    })();
    const close = async () => {
      if (closed) return;
      closed = true;
      ac.abort();
      await stopped;
      await http?.close();
      outbox.close();
      logger.info({ chain }, 'meter stopped');
    };
    const done = stopped.then(async (e) => {
      if (!closed && e.reason !== 'closed') await close();
      return e;
    });
    return { url: http?.url, chain, outbox, status, done, close, [Symbol.asyncDispose]: close };
  } catch (e) {
    ac.abort();
    await Promise.allSettled(loops);
    await http?.close();
    outbox.close();
    throw e;
  }
}
