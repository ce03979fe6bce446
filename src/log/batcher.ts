/**
 * Group commit for the log's sequencing stage. Adds queue up while a flush is in flight; the next
 * flush takes everything queued (up to `maxBatch`) in one durable transaction, so the cost of an
 * fsync is shared by every request that arrived during the previous one. When more than
 * `maxPending` items wait, new adds are refused with LOG_PUSHBACK (HTTP 503 + Retry-After)
 * rather than queueing without bound.
 */
import { VPauseError } from '../core/errors.js';

export interface BatcherOptions {
  /** Most items one flush takes. */
  maxBatch: number;
  /** Most items waiting (queued, not in flight) before adds are refused. */
  maxPending: number;
}

interface Waiter<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Batcher<I, R> {
  private queue: Waiter<I, R>[] = [];
  private running = false;
  private closed = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<R[]>,
    private readonly opts: BatcherOptions,
    private readonly onFlush?: (size: number, seconds: number) => void,
  ) {}

  /** Number of items waiting for a flush. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues items and resolves each with its flush result.
   * @throws {VPauseError<'LOG_PUSHBACK'>} when the queue is full (nothing is queued then)
   */
  addAll(items: readonly I[]): Promise<R>[] {
    if (this.closed) throw new VPauseError('UNAVAILABLE', 'log is shutting down');
    if (this.queue.length + items.length > this.opts.maxPending) {
      throw new VPauseError('LOG_PUSHBACK', 'too many pending statements; retry later');
    }
    const out = items.map(
      (item) =>
        new Promise<R>((resolve, reject) => {
          this.queue.push({ item, resolve, reject });
        }),
    );
    this.kick();
    return out;
  }

  add(item: I): Promise<R> {
    return this.addAll([item])[0]!;
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    // setImmediate, not a microtask: every request that became readable in this turn of the
    // event loop reaches the queue before the flush, so one fsync serves all of them.
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.queue.length < this.opts.maxBatch) {
        // Let requests that arrived while the last flush blocked join this one.
        await new Promise((r) => setImmediate(r));
      }
      const batch = this.queue.splice(0, this.opts.maxBatch);
      const t0 = performance.now();
      try {
        const results = await this.flush(batch.map((w) => w.item));
        if (results.length !== batch.length) throw new Error('flush returned wrong result count');
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
      this.onFlush?.(batch.length, (performance.now() - t0) / 1000);
    }
    this.running = false;
  }

  /** Refuses new adds and waits for queued ones to flush. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
