/**
 * The witness's state: per log origin, the latest checkpoint it cosigned. The one guarantee the
 * witness needs is an atomic, durable compare-and-swap (tlog-witness: "checking the old size
 * against the latest checkpoint and persisting the new checkpoint must be performed atomically";
 * "the witness MUST persist the new checkpoint before responding"). `update` gives exactly that:
 * it reads the current record, lets the caller decide, and persists the decision, as one step
 * that returns only once the write is durable.
 *
 * Two drivers: SQLite (./sqlite.ts, the default, `<data>/witness.db`) and this in-memory one for
 * tests, which can inject write failures.
 */
import { VPauseError } from '../core/errors.js';

/** The latest cosigned checkpoint of one log. */
export interface WitnessRecord {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /**
   * The checkpoint as the witness serves it at `<hash>/checkpoint`: the note body, the log
   * signature lines the witness verified, and its own cosignature line(s).
   */
  note: string;
  /** When it was cosigned, ms since the epoch. */
  updatedAt: number;
}

/** A validly signed checkpoint the witness refused as inconsistent: possible proof of a fork. */
export interface RefusalRecord {
  origin: string;
  /** ms since the epoch */
  receivedAt: number;
  /** the HTTP status answered (422) */
  status: number;
  code: string;
  reason: string;
  /** the add-checkpoint request body as received */
  request: string;
}

/** What a compare-and-swap decided: optionally a record to write, and the caller's result. */
export interface CasDecision<R> {
  write?: WitnessRecord;
  result: R;
}

/**
 * Codes thrown by the stores.
 * - WITNESS_STORAGE: the database failed (a write may or may not be durable; nothing was
 *   answered, so the client retries)
 * - WITNESS_STORAGE_LOCKED: another process holds the data directory
 */
export type WitnessStoreErrorCode = 'WITNESS_STORAGE' | 'WITNESS_STORAGE_LOCKED';

export interface WitnessStore {
  readonly driver: string;
  /** The latest cosigned checkpoint of `origin`, if any. */
  latest(origin: string): WitnessRecord | undefined;
  /** Every origin with a record, and its record. */
  all(): WitnessRecord[];
  /**
   * Atomic compare-and-swap: calls `decide` with the current record and persists its `write`
   * (if any) before returning its `result`. No other update of the same origin, in this
   * process or another, interleaves.
   * @throws {VPauseError<WitnessStoreErrorCode>} WITNESS_STORAGE when the write fails
   */
  update<R>(origin: string, decide: (current: WitnessRecord | undefined) => CasDecision<R>): R;
  /** Keeps a refused, validly signed checkpoint for the operator (best effort). */
  recordRefusal(r: RefusalRecord): void;
  /** The refusals kept, oldest first. */
  refusals(): RefusalRecord[];
  close(): void;
}

/** Options of the in-memory store. */
export interface MemoryWitnessStoreOptions {
  /**
   * Fault injection: called before each write; throwing from it makes the write fail (the store
   * then throws WITNESS_STORAGE and keeps the previous record).
   */
  beforeWrite?: (r: WitnessRecord) => void;
}

/** In-memory store (tests, simulations). */
export class MemoryWitnessStore implements WitnessStore {
  readonly driver = 'memory';
  private readonly records = new Map<string, WitnessRecord>();
  private readonly refused: RefusalRecord[] = [];

  constructor(private readonly opts: MemoryWitnessStoreOptions = {}) {}

  latest(origin: string): WitnessRecord | undefined {
    const r = this.records.get(origin);
    return r === undefined ? undefined : { ...r, rootHash: r.rootHash.slice() };
  }

  all(): WitnessRecord[] {
    return [...this.records.keys()].map((o) => this.latest(o)!);
  }

  update<R>(origin: string, decide: (current: WitnessRecord | undefined) => CasDecision<R>): R {
    const d = decide(this.latest(origin));
    if (d.write !== undefined) {
      if (d.write.origin !== origin) throw new TypeError('update: record of another origin');
      try {
        this.opts.beforeWrite?.(d.write);
      } catch (cause) {
        throw new VPauseError<WitnessStoreErrorCode>(
          'WITNESS_STORAGE',
          'memory store: injected write failure',
          { cause },
        );
      }
      this.records.set(origin, { ...d.write, rootHash: d.write.rootHash.slice() });
    }
    return d.result;
  }

  recordRefusal(r: RefusalRecord): void {
    this.refused.push({ ...r });
  }

  refusals(): RefusalRecord[] {
    return this.refused.map((r) => ({ ...r }));
  }

  close(): void {}
}
