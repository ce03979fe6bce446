/**
 * The SQLite driver with its connection on a thread of its own. better-sqlite3 is synchronous, so
 * on the event loop every group commit's fsync (synchronous = FULL) stalls HTTP parsing, admission
 * and integration for its whole duration; here the event loop only posts the call and goes on.
 * The connection is the ordinary driver's (./sqlite.ts, `locking_mode = EXCLUSIVE`), so every
 * call, reads included, goes to that thread, in order: the guarantees are the ordinary driver's
 * (a call resolves only after its transaction committed), and so are the errors (same codes).
 * Arguments and results are copied between threads (structured clone).
 */
import { Worker } from 'node:worker_threads';
import { VPauseError } from '../../core/errors.js';
import type { SqliteStorageOptions } from './sqlite.js';
import type {
  LogStorage,
  NodeKeyRecord,
  SequenceItem,
  SequenceResult,
  StoredTile,
  TileId,
  TreeState,
} from './types.js';

interface WireError {
  name: string;
  code?: string;
  message: string;
}

function fromWire(e: WireError): Error {
  if (e.code !== undefined) return new VPauseError(e.code, e.message);
  if (e.name === 'RangeError') return new RangeError(e.message);
  if (e.name === 'TypeError') return new TypeError(e.message);
  return new Error(e.message);
}

export class ThreadedSqliteStorage implements LogStorage {
  readonly driver = 'sqlite-thread';
  private next = 1;
  private readonly calls = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id: number; result?: unknown; error?: WireError }) => {
      const c = this.calls.get(m.id);
      if (c === undefined) return;
      this.calls.delete(m.id);
      if (m.error !== undefined) c.reject(fromWire(m.error));
      else c.resolve(m.result);
    });
    const fail = (e: unknown) => {
      for (const c of this.calls.values()) c.reject(e);
      this.calls.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () =>
      fail(new VPauseError('STORAGE_CLOSED', 'the SQLite storage thread has exited')),
    );
  }

  /**
   * Opens the database on a new thread (errors as SqliteStorage.open's). `now` cannot cross
   * threads: a caller that injects a clock uses the ordinary driver.
   */
  static async open(opts: Omit<SqliteStorageOptions, 'now'>): Promise<ThreadedSqliteStorage> {
    const worker = new Worker(new URL('./sqlite-thread-worker.mjs', import.meta.url), {
      workerData: opts,
    });
    const s = new ThreadedSqliteStorage(worker);
    // The thread answers call 0 once the database is open (or with why it could not be).
    await new Promise<void>((resolve, reject) => {
      s.calls.set(0, { resolve: () => resolve(), reject });
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    return s;
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.closed) {
      return Promise.reject(new VPauseError('STORAGE_CLOSED', 'storage is closed'));
    }
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  sequence(items: readonly SequenceItem[]): Promise<SequenceResult[]> {
    return this.call('sequence', items);
  }
  sequencedSize(): Promise<number> {
    return this.call('sequencedSize');
  }
  readEntries(start: number, count: number): Promise<Uint8Array[]> {
    return this.call('readEntries', start, count);
  }
  readEntryBundle(start: number, count: number): Promise<Uint8Array | undefined> {
    return this.call('readEntryBundle', start, count);
  }
  readLeafHashes(start: number, count: number): Promise<Uint8Array[]> {
    return this.call('readLeafHashes', start, count);
  }
  findLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    return this.call('findLeafHash', leafHash);
  }
  getNodeKey(keyId: string): Promise<NodeKeyRecord | undefined> {
    return this.call('getNodeKey', keyId);
  }
  treeState(): Promise<TreeState> {
    return this.call('treeState');
  }
  readTiles(ids: readonly TileId[]): Promise<(Uint8Array | undefined)[]> {
    return this.call('readTiles', ids);
  }
  commitIntegration(
    oldSize: number,
    next: TreeState & { checkpoint: Uint8Array },
    tiles: readonly StoredTile[],
  ): Promise<boolean> {
    return this.call('commitIntegration', oldSize, next, tiles);
  }
  setPublished(size: number, note: Uint8Array): Promise<boolean> {
    return this.call('setPublished', size, note);
  }
  published(): Promise<{ size: number; note: Uint8Array } | undefined> {
    return this.call('published');
  }
  acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    return this.call('acquireLease', owner, ttlMs);
  }
  releaseLease(owner: string): Promise<void> {
    return this.call('releaseLease', owner);
  }
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.call('close');
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }
}
