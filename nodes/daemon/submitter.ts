/**
 * The submitter: moves statements from the outbox into the log, in `seq` order, and keeps each
 * one's receipt once verified.
 *
 * - Each unacknowledged statement is POSTed as stored (byte for byte, so a resubmission after a
 *   crash is a duplicate the log answers with the original index).
 * - While the log is unreachable, overloaded (503, honouring Retry-After) or failing (5xx), it
 *   retries with exponential backoff and jitter; statements keep accumulating in the outbox.
 * - A refusal (another 4xx, e.g. a node key not registered yet) is retried too, with the same
 *   backoff, and reported in the status: a signed statement is never dropped, and nothing after it
 *   may overtake it.
 * - A 409 seq conflict means the log already holds a *different* statement with this chain and
 *   seq: the chain has forked (a restored outbox, or another process signing with this key). The
 *   submitter raises the alarm and stops; an operator must investigate.
 * - Acknowledged statements get their receipt (`GET /v1/receipt/<index>`, polled with backoff until
 *   a served checkpoint covers them), verified against the log key and the stored entry before it
 *   is stored.
 */
import type { Logger } from 'pino';
import type { LogClient } from './log-client.js';
import type { DaemonMetrics } from './metrics.js';
import type { Outbox, OutboxRow } from './outbox.js';
import { type Backoff, backoffDelay, type Random, type Timer } from './util.js';

/** Where the submitter stands. */
export interface SubmitterStatus {
  state: 'idle' | 'submitting' | 'log-unavailable' | 'rejected' | 'conflict' | 'stopped';
  /** The last failure, if the last attempt failed. */
  lastError?: { reason: string; atMs: number };
  /** Set once a seq conflict stopped the submitter. */
  conflict?: { seq: number; detail: string };
}

export interface SubmitterOptions {
  outbox: Outbox;
  client: LogClient;
  timer: Timer;
  random: Random;
  logger: Logger;
  metrics?: DaemonMetrics;
  /** Submission retry backoff (default 500 ms doubling to 60 s). */
  backoff?: Backoff;
  /** Receipt polling backoff (default 200 ms doubling to 5 s). */
  receiptPoll?: Backoff;
  /** Largest Retry-After honoured, ms (default 10 minutes). */
  maxRetryAfterMs?: number;
  /** Idle wait between outbox checks when nothing wakes the submitter, ms (default 5 000). */
  idleMs?: number;
}

/** How the submitter's run ended. */
export type SubmitterExit =
  | { reason: 'aborted' }
  | { reason: 'conflict'; seq: number; detail: string };

export class Submitter {
  private readonly o: Required<Omit<SubmitterOptions, 'metrics'>> & { metrics?: DaemonMetrics };
  private wakeAc: AbortController | undefined;
  private woken = false;
  private st: SubmitterStatus = { state: 'idle' };

  constructor(opts: SubmitterOptions) {
    this.o = {
      backoff: { minMs: 500, maxMs: 60_000 },
      receiptPoll: { minMs: 200, maxMs: 5_000 },
      maxRetryAfterMs: 600_000,
      idleMs: 5_000,
      ...opts,
    };
  }

  get status(): SubmitterStatus {
    return { ...this.st };
  }

  /** Tells the submitter a new statement is in the outbox (ends an idle or receipt wait). */
  wake(): void {
    this.woken = true;
    this.wakeAc?.abort();
  }

  private updateGauges(): void {
    const m = this.o.metrics;
    if (m === undefined) return;
    const c = this.o.outbox.counts();
    m.outboxUnsequenced.set(c.unsequenced);
    m.outboxUnreceipted.set(c.unreceipted);
  }

  private async wakeableSleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    const ac = new AbortController();
    this.wakeAc = ac;
    await this.o.timer.sleep(ms, AbortSignal.any([signal, ac.signal]));
    this.wakeAc = undefined;
    this.woken = false;
  }

  private fail(state: SubmitterStatus['state'], reason: string): void {
    this.st = { state, lastError: { reason, atMs: this.o.timer.now() } };
  }

  /**
   * Runs until `signal` aborts or a seq conflict stops it.
   * @throws {DaemonError} OUTBOX_STORAGE when the outbox fails (the daemon cannot go on)
   */
  async run(signal: AbortSignal): Promise<SubmitterExit> {
    const { outbox, client, timer, random, logger, metrics } = this.o;
    let attempt = 0;
    let receiptAttempt = 0;
    this.updateGauges();
    while (!signal.aborted) {
      const row = outbox.nextUnsequenced();
      if (row !== undefined) {
        this.st = { ...this.st, state: 'submitting' };
        const out = await client.submit(row.entry, signal);
        if (signal.aborted) break;
        if (out.kind === 'sequenced') {
          outbox.markSequenced(row.seq, out.index, timer.now());
          metrics?.submits.inc({ result: 'sequenced' });
          logger.debug({ seq: row.seq, index: out.index }, 'statement sequenced');
          attempt = 0;
          this.st = { state: 'submitting' };
          this.updateGauges();
          continue;
        }
        if (out.kind === 'conflict') {
          metrics?.submits.inc({ result: 'conflict' });
          this.st = {
            state: 'conflict',
            lastError: { reason: out.detail, atMs: timer.now() },
            conflict: { seq: row.seq, detail: out.detail },
          };
          logger.fatal(
            { seq: row.seq, detail: out.detail },
            'SEQ CONFLICT: the log holds a different statement for this seq; the chain has forked. Stopping: investigate before restarting.',
          );
          return { reason: 'conflict', seq: row.seq, detail: out.detail };
        }
        let delay = backoffDelay(attempt++, this.o.backoff, random);
        if (out.kind === 'retry') {
          metrics?.submits.inc({ result: 'retry' });
          if (out.retryAfterMs !== undefined) {
            delay = Math.max(delay, Math.min(out.retryAfterMs, this.o.maxRetryAfterMs));
          }
          this.fail('log-unavailable', out.reason);
          logger.warn(
            { seq: row.seq, reason: out.reason, retryInMs: Math.round(delay) },
            'log unavailable; will retry',
          );
        } else {
          metrics?.submits.inc({ result: 'rejected' });
          this.fail('rejected', `${out.code}: ${out.detail}`);
          logger.error(
            {
              seq: row.seq,
              status: out.status,
              code: out.code,
              detail: out.detail,
              retryInMs: Math.round(delay),
            },
            'log refused the statement; will retry (it stays in the outbox)',
          );
        }
        await timer.sleep(delay, signal);
        continue;
      }
      attempt = 0;
      if (this.st.state === 'submitting') this.st = { state: 'idle' };

      const pending = outbox.unreceipted(32);
      if (pending.length > 0) {
        const progressed = await this.fetchReceipts(pending, signal);
        this.updateGauges();
        if (progressed) {
          receiptAttempt = 0;
          continue;
        }
        await this.wakeableSleep(
          backoffDelay(receiptAttempt++, this.o.receiptPoll, random),
          signal,
        );
        continue;
      }
      receiptAttempt = 0;
      await this.wakeableSleep(this.o.idleMs, signal);
    }
    this.st = { ...this.st, state: 'stopped' };
    return { reason: 'aborted' };
  }

  /** Fetches and verifies receipts in order; true when at least one was stored. */
  private async fetchReceipts(rows: OutboxRow[], signal: AbortSignal): Promise<boolean> {
    const { outbox, client, timer, logger, metrics } = this.o;
    let progressed = false;
    for (const r of rows) {
      if (signal.aborted) break;
      let text: string | undefined;
      try {
        text = await client.receipt(r.logIndex!, signal);
      } catch (e) {
        this.fail('log-unavailable', (e as Error).message);
        break;
      }
      if (text === undefined) break; // not covered by the served checkpoint yet
      try {
        client.verify(text, r.entry, r.logIndex!);
      } catch (e) {
        metrics?.receipts.inc({ result: 'invalid' });
        logger.error(
          { seq: r.seq, index: r.logIndex, err: (e as Error).message },
          'receipt does not verify; will fetch it again',
        );
        this.fail(this.st.state === 'conflict' ? 'conflict' : 'idle', (e as Error).message);
        break;
      }
      outbox.storeReceipt(r.seq, text, timer.now());
      metrics?.receipts.inc({ result: 'verified' });
      logger.debug({ seq: r.seq, index: r.logIndex }, 'receipt verified');
      progressed = true;
    }
    return progressed;
  }
}
