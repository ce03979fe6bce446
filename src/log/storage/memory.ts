/**
 * The in-memory storage driver: the reference for the contract in ./types.ts, and the test
 * double for the log service.
 *
 * It is stricter than the durable drivers where that is cheap: it checks that every leaf hash
 * is the RFC 9162 hash of its data, copies bytes on the way in and out (so a caller that keeps
 * mutating a buffer cannot change the log), and applies each operation atomically, after an
 * optional latency. For tests it injects faults per operation (after Sunlight's test backend):
 *
 * - `before-write`: the call rejects and nothing happened;
 * - `after-write`: the call takes effect, then rejects ("failed but persisted"), as when a
 *   database commits but the acknowledgement is lost. A retry must then resolve as a duplicate
 *   with the same index, and a stale compare-and-swap must lose.
 *
 * Injected faults reject with `UNAVAILABLE`, the code a real driver failure has.
 */
import { bytesEqual, toHex } from '../../core/bytes.js';
import { sha256 } from '../../crypto/sha256.js';
import {
  checkBundleRange,
  checkCommit,
  checkHash,
  checkIndex,
  checkIntegratedSize,
  checkLease,
  checkRange,
  checkSequenceItems,
  checkTileId,
  claimKey,
  entryBundleOf,
  plainBytes,
  plainCopies,
  planSequence,
  rangeEnd,
  storageError,
} from './index.js';
import type {
  LogStorage,
  NodeKeyRecord,
  SequenceItem,
  SequenceResult,
  StoredTile,
  TileId,
  TreeState,
} from './types.js';

/** The operations of {@link LogStorage}, as fault injection and latency name them. */
export type MemoryOp =
  | 'sequence'
  | 'sequencedSize'
  | 'readEntries'
  | 'readLeafHashes'
  | 'findLeafHash'
  | 'getNodeKey'
  | 'treeState'
  | 'readTiles'
  | 'commitIntegration'
  | 'setPublished'
  | 'published'
  | 'acquireLease'
  | 'releaseLease';

/** `before-write`: reject, nothing happened. `after-write`: take effect, then reject. */
export type FaultMode = 'before-write' | 'after-write';

export interface MemoryStorageOptions {
  /** Clock for lease expiry, ms since the epoch (default `Date.now`). */
  now?: () => number;
  /** Delay before each operation takes effect, fixed or per operation (default 0). */
  latencyMs?: number | ((op: MemoryOp) => number);
  /**
   * Asked before every operation (after any queued {@link MemoryStorage.failNext} fault); a
   * mode makes that call fail. E.g. `() => (rand() < 0.1 ? 'after-write' : undefined)`.
   */
  faults?: (op: MemoryOp) => FaultMode | undefined;
  /** Check that each leaf hash is SHA-256(0x00 || data) (default true). */
  checkLeafHashes?: boolean;
}

interface QueuedFault {
  op: MemoryOp;
  mode: FaultMode;
  remaining: number;
  error: Error | undefined;
}

const EMPTY_ROOT = sha256();

function leafHashOf(data: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([0]), data);
}

function copyRecord(r: NodeKeyRecord): NodeKeyRecord {
  return { ...r };
}

export class MemoryStorage implements LogStorage {
  readonly driver = 'memory';

  private readonly leaves: Uint8Array[] = [];
  private readonly entries: Uint8Array[] = [];
  private readonly byLeaf = new Map<string, number>();
  private readonly claims = new Map<string, number>();
  private readonly keys = new Map<string, NodeKeyRecord>();
  private readonly tiles = new Map<string, Uint8Array>();
  private tree: TreeState = { size: 0, rootHash: EMPTY_ROOT };
  private pub: { size: number; note: Uint8Array } | undefined;
  private lease: { owner: string; expiresAt: number } | undefined;
  private closed = false;

  private readonly now: () => number;
  private latency: number | ((op: MemoryOp) => number);
  private readonly faultPolicy: ((op: MemoryOp) => FaultMode | undefined) | undefined;
  private readonly checkLeaves: boolean;
  private readonly queued: QueuedFault[] = [];
  /** How many times each operation was called (including calls that failed). */
  readonly calls: Record<MemoryOp, number> = {
    sequence: 0,
    sequencedSize: 0,
    readEntries: 0,
    readLeafHashes: 0,
    findLeafHash: 0,
    getNodeKey: 0,
    treeState: 0,
    readTiles: 0,
    commitIntegration: 0,
    setPublished: 0,
    published: 0,
    acquireLease: 0,
    releaseLease: 0,
  };

  constructor(opts: MemoryStorageOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.latency = opts.latencyMs ?? 0;
    this.faultPolicy = opts.faults;
    this.checkLeaves = opts.checkLeafHashes ?? true;
  }

  /**
   * Makes the next `times` calls of `op` fail in `mode`.
   * @throws {RangeError} when times is not a positive integer
   */
  failNext(op: MemoryOp, mode: FaultMode, opts: { times?: number; error?: Error } = {}): void {
    const times = opts.times ?? 1;
    if (!Number.isSafeInteger(times) || times < 1) {
      throw new RangeError('failNext: times: expected a positive integer');
    }
    this.queued.push({ op, mode, remaining: times, error: opts.error });
  }

  /** Drops every queued fault. */
  clearFaults(): void {
    this.queued.length = 0;
  }

  /** Sets the latency of later operations. */
  setLatency(latencyMs: number | ((op: MemoryOp) => number)): void {
    this.latency = latencyMs;
  }

  async sequence(items: readonly SequenceItem[]): Promise<SequenceResult[]> {
    checkSequenceItems(items);
    if (this.checkLeaves) {
      items.forEach((it, i) => {
        if (!bytesEqual(it.leafHash, leafHashOf(it.data))) {
          throw new RangeError(
            `sequence: items[${i}].leafHash is not the RFC 9162 leaf hash of its data`,
          );
        }
      });
    }
    // Snapshot the caller's bytes now: they may change them while we wait.
    const batch = items.map((it) => ({
      ...it,
      leafHash: plainBytes(it.leafHash),
      data: plainBytes(it.data),
      ...(it.claim ? { claim: { ...it.claim } } : {}),
      ...(it.keyEvent ? { keyEvent: { ...it.keyEvent } } : {}),
    }));
    return this.run('sequence', () => {
      const plan = planSequence(batch, this.leaves.length, {
        leaf: (_h, hex) => this.byLeaf.get(hex),
        claim: (chain, seq) => this.claims.get(claimKey(chain, seq)),
      });
      for (const { index, item } of plan.fresh) {
        this.leaves.push(item.leafHash);
        this.entries.push(item.data);
        this.byLeaf.set(toHex(item.leafHash), index);
        if (item.claim) this.claims.set(claimKey(item.claim.chain, item.claim.seq), index);
        const ev = item.keyEvent;
        if (ev?.action === 'add' && !this.keys.has(ev.keyId)) {
          this.keys.set(ev.keyId, {
            keyId: ev.keyId,
            vkey: ev.vkey,
            lab: ev.lab,
            facility: ev.facility,
            cluster: ev.cluster,
            node: ev.node,
            addedAt: index,
          });
        } else if (ev?.action === 'revoke') {
          const rec = this.keys.get(ev.keyId);
          if (rec && rec.revokedAt === undefined) {
            rec.revokedAt = index;
            rec.revokedTime = ev.time;
          }
        }
      }
      return plan.results;
    });
  }

  async sequencedSize(): Promise<number> {
    return this.run('sequencedSize', () => this.leaves.length);
  }

  async readEntries(start: number, count: number): Promise<Uint8Array[]> {
    checkRange('readEntries', start, count);
    return this.run('readEntries', () =>
      plainCopies(this.entries.slice(start, rangeEnd(start, count))),
    );
  }

  async readEntryBundle(start: number, count: number): Promise<Uint8Array | undefined> {
    checkBundleRange('readEntryBundle', start, count);
    return entryBundleOf(await this.readEntries(start, count), count);
  }

  async readLeafHashes(start: number, count: number): Promise<Uint8Array[]> {
    checkRange('readLeafHashes', start, count);
    return this.run('readLeafHashes', () =>
      this.leaves.slice(start, rangeEnd(start, count)).map(plainBytes),
    );
  }

  async findLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    checkHash('findLeafHash: leafHash', leafHash);
    const hex = toHex(leafHash);
    return this.run('findLeafHash', () => this.byLeaf.get(hex));
  }

  async getNodeKey(keyId: string): Promise<NodeKeyRecord | undefined> {
    if (typeof keyId !== 'string') throw new TypeError('getNodeKey: keyId: expected a string');
    return this.run('getNodeKey', () => {
      const r = this.keys.get(keyId);
      return r ? copyRecord(r) : undefined;
    });
  }

  async treeState(): Promise<TreeState> {
    return this.run('treeState', () => ({
      size: this.tree.size,
      rootHash: plainBytes(this.tree.rootHash),
      ...(this.tree.checkpoint ? { checkpoint: plainBytes(this.tree.checkpoint) } : {}),
    }));
  }

  async readTiles(ids: readonly TileId[]): Promise<(Uint8Array | undefined)[]> {
    ids.forEach((t, i) => {
      checkTileId(`readTiles: ids[${i}]`, t);
    });
    return this.run('readTiles', () =>
      ids.map((t) => {
        const d = this.tiles.get(`${t.level}/${t.index}`);
        return d ? plainBytes(d) : undefined;
      }),
    );
  }

  async setPublished(size: number, note: Uint8Array): Promise<boolean> {
    checkIndex('setPublished: size', size);
    const copy = plainBytes(note);
    return this.run('setPublished', () => {
      if (this.pub !== undefined && size < this.pub.size) return false;
      this.pub = { size, note: copy };
      return true;
    });
  }

  async published(): Promise<{ size: number; note: Uint8Array } | undefined> {
    return this.run('published', () =>
      this.pub === undefined ? undefined : { size: this.pub.size, note: plainBytes(this.pub.note) },
    );
  }

  async commitIntegration(
    oldSize: number,
    next: TreeState & { checkpoint: Uint8Array },
    tiles: readonly StoredTile[],
  ): Promise<boolean> {
    checkCommit(oldSize, next, tiles);
    const state: TreeState = {
      size: next.size,
      rootHash: plainBytes(next.rootHash),
      checkpoint: plainBytes(next.checkpoint),
    };
    const copies = tiles.map((t) => ({ key: `${t.level}/${t.index}`, data: plainBytes(t.data) }));
    return this.run('commitIntegration', () => {
      checkIntegratedSize(next.size, this.leaves.length);
      if (this.tree.size !== oldSize) return false;
      for (const t of copies) {
        const prev = this.tiles.get(t.key);
        // A tile only widens: a stale, narrower copy never replaces a wider one.
        if (!prev || prev.length <= t.data.length) this.tiles.set(t.key, t.data);
      }
      this.tree = state;
      return true;
    });
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    checkLease(owner, ttlMs);
    return this.run('acquireLease', () => {
      const now = this.now();
      const l = this.lease;
      if (l && l.owner !== owner && l.expiresAt > now) return false;
      this.lease = { owner, expiresAt: now + ttlMs };
      return true;
    });
  }

  async releaseLease(owner: string): Promise<void> {
    checkLease(owner);
    return this.run('releaseLease', () => {
      if (this.lease?.owner === owner) this.lease = undefined;
    });
  }

  /** Closes the storage; later calls (and calls still waiting out a latency) reject. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Runs one operation: waits out the latency, applies a `before-write` fault, runs `apply`
   * synchronously (so the operation is atomic), then applies an `after-write` fault.
   */
  private async run<T>(op: MemoryOp, apply: () => T): Promise<T> {
    this.calls[op]++;
    this.assertOpen();
    const ms = typeof this.latency === 'function' ? this.latency(op) : this.latency;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    else await Promise.resolve();
    this.assertOpen();
    const fault = this.takeFault(op);
    if (fault?.mode === 'before-write') throw fault.error;
    const out = apply();
    if (fault?.mode === 'after-write') throw fault.error;
    return out;
  }

  private takeFault(op: MemoryOp): { mode: FaultMode; error: Error } | undefined {
    const i = this.queued.findIndex((f) => f.op === op);
    let mode: FaultMode | undefined;
    let error: Error | undefined;
    if (i >= 0) {
      const f = this.queued[i]!;
      mode = f.mode;
      error = f.error;
      if (--f.remaining === 0) this.queued.splice(i, 1);
    } else {
      mode = this.faultPolicy?.(op);
    }
    if (mode === undefined) return undefined;
    return {
      mode,
      error:
        error ?? storageError('UNAVAILABLE', `memory storage: injected fault (${mode}) in ${op}`),
    };
  }

  private assertOpen(): void {
    if (this.closed) throw storageError('STORAGE_CLOSED', 'memory storage is closed');
  }
}
