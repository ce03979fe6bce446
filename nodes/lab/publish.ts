/**
 * Publishing one statement and waiting for proof that it is in the log: submit it (retrying
 * while the log is unavailable), then poll for its receipt with backoff, and verify the receipt
 * against the log key (checkpoint signature) and the entry (inclusion of its leaf hash). Bounded
 * by a deadline.
 */
import { DaemonError } from '../daemon/errors.js';
import { type LogClient, leafHashHex, type VerifiedReceipt } from '../daemon/log-client.js';
import {
  type Backoff,
  backoffDelay,
  type Random,
  systemTimer,
  type Timer,
} from '../daemon/util.js';

export interface PublishOptions {
  timer?: Timer;
  random?: Random;
  /** Give up after this long, ms (default 60 000). */
  timeoutMs?: number;
  /** Submission retry backoff (default 250 ms doubling to 5 s). */
  backoff?: Backoff;
  /** Receipt polling backoff (default 100 ms doubling to 2 s). */
  receiptPoll?: Backoff;
  signal?: AbortSignal;
}

/** A statement in the log, with its verified receipt. */
export interface Published {
  index: number;
  leafHash: string;
  receipt: VerifiedReceipt;
}

/**
 * Submits `entry` and waits for its verified receipt.
 * @throws {DaemonError} LOG_REJECTED (the log refused it: the problem's code and detail),
 *   LOG_SEQ_CONFLICT, LOG_UNREACHABLE (still unavailable at the deadline), RECEIPT_TIMEOUT (no
 *   receipt by the deadline), RECEIPT_INVALID (a receipt that does not verify)
 */
export async function publishStatement(
  entry: Uint8Array,
  client: LogClient,
  opts: PublishOptions = {},
): Promise<Published> {
  const timer = opts.timer ?? systemTimer;
  const random = opts.random ?? Math.random;
  const signal = opts.signal ?? new AbortController().signal;
  const deadline = timer.now() + (opts.timeoutMs ?? 60_000);
  const backoff = opts.backoff ?? { minMs: 250, maxMs: 5_000 };
  const poll = opts.receiptPoll ?? { minMs: 100, maxMs: 2_000 };
  const wait = (ms: number) =>
    timer.sleep(Math.max(0, Math.min(ms, deadline - timer.now())), signal);

  let index: number | undefined;
  let lastReason = '';
  for (let attempt = 0; index === undefined; attempt++) {
    const out = await client.submit(entry, signal);
    if (out.kind === 'sequenced') {
      index = out.index;
      break;
    }
    if (out.kind === 'conflict') {
      throw new DaemonError('LOG_SEQ_CONFLICT', `log refused the statement: ${out.detail}`);
    }
    if (out.kind === 'rejected') {
      throw new DaemonError(
        'LOG_REJECTED',
        `log refused the statement: ${out.detail} (${out.code}, HTTP ${out.status})`,
      );
    }
    lastReason = out.reason;
    if (timer.now() >= deadline || signal.aborted) {
      throw new DaemonError('LOG_UNREACHABLE', `log unavailable: ${lastReason}`);
    }
    let d = backoffDelay(attempt, backoff, random);
    if (out.retryAfterMs !== undefined) d = Math.max(d, out.retryAfterMs);
    await wait(d);
  }

  for (let attempt = 0; ; attempt++) {
    let text: string | undefined;
    try {
      text = await client.receipt(index, signal);
    } catch (e) {
      lastReason = (e as Error).message;
    }
    if (text !== undefined) {
      const receipt = client.verify(text, entry, index);
      return { index, leafHash: leafHashHex(entry), receipt };
    }
    if (timer.now() >= deadline || signal.aborted) {
      throw new DaemonError(
        'RECEIPT_TIMEOUT',
        `logged at index ${index}, but no receipt came in time${lastReason ? ` (${lastReason})` : ''}`,
      );
    }
    await wait(backoffDelay(attempt, poll, random));
  }
}
