/**
 * Where the log prepares submitted statements (./prepare.ts): on the event-loop thread
 * (`InlinePreparer`, the log as it always was), or on a pool of worker threads
 * (`WorkerPreparer`, `vpause log serve --threads N`), so that strict parsing and signature
 * verification, most of the cost of an add, run on every core while the event loop does HTTP,
 * admission decisions and storage.
 *
 * The pool coalesces: bodies submitted within one turn of the event loop (all the requests that
 * became readable together, and whole batch POSTs) travel to the workers as a few messages of
 * many bodies each, copied into one transferred buffer; results come back the same way. Workers
 * verify each signature under every candidate key they know for its keyid: the admission list's
 * keys (replaced on reload) and node keys the service pushes (registrations it sequenced, keys
 * it had to verify inline). Which outcome counts is decided on the main thread (./admission.ts).
 *
 * A worker that dies fails the bodies it held with UNAVAILABLE (503, retry) and is replaced.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { PayloadType } from '../../protocol/src/index.js';
import { VPauseError } from '../core/errors.js';
import { startWorker, workerEntry } from '../util/worker-entry.js';
import {
  fromWireError,
  type Prepared,
  type PreparedStatement,
  KeyRing as Ring,
  type SignatureOutcome,
  type WireError,
} from './prepare.js';
import { BatchPreparer } from './prepare-batch.js';

/** Told, after each prepared batch, how many bodies it had and how many the packer read. */
export type OnPrepared = (bodies: number, packed: number) => void;

/** Prepares submitted bodies for admission. */
export interface Preparer {
  /** One result per body, in order. Never rejects for a bad body: that is an `{ error }`. */
  prepare(bodies: readonly Uint8Array[]): Promise<Prepared[]>;
  /** Replaces the admission list's keys (vkeys) whose outcomes are computed ahead. */
  setAdmitKeys(vkeys: readonly string[]): void;
  /** Adds node keys (vkeys) whose outcomes are computed ahead. */
  addNodeKeys(vkeys: readonly string[]): void;
  /** Number of worker threads (0 inline). */
  readonly threads: number;
  /** Resolves once every worker has loaded and can take work. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Preparation on the calling thread (machines with one core): the same reading and the same
 * signature checks ahead as a worker makes (./prepare-batch.ts), against the same candidate keys.
 */
export class InlinePreparer implements Preparer {
  readonly threads = 0;
  private readonly ring = new Ring();
  private readonly batch = new BatchPreparer(this.ring);
  constructor(
    admitVkeys: readonly string[] = [],
    private readonly onPrepared?: OnPrepared,
  ) {
    this.ring.setAdmitKeys(admitVkeys);
  }
  async prepare(bodies: readonly Uint8Array[]): Promise<Prepared[]> {
    const b = this.batch.prepare(bodies);
    this.onPrepared?.(bodies.length, b.packed);
    return bodies.map((_, i) =>
      preparedOf(b.meta[i]!, b.entries[i]!, b.leaf.subarray(i * 32, i * 32 + 32)),
    );
  }
  setAdmitKeys(vkeys: readonly string[]): void {
    this.ring.setAdmitKeys(vkeys);
  }
  addNodeKeys(vkeys: readonly string[]): void {
    this.ring.addNodeKeys(vkeys);
  }
  async ready(): Promise<void> {}
  async close(): Promise<void> {}
}

/** What a preparation's meta, entry and leaf hash say of one body. */
function preparedOf(meta: WireMeta, entry: Uint8Array, leafHash: Uint8Array): Prepared {
  if ('error' in meta) return { error: fromWireError(meta.error) };
  return {
    payloadType: meta.payloadType,
    payload: meta.payload,
    keyids: meta.keyids,
    entry,
    leafHash,
    outcomes: meta.outcomes,
  } as PreparedStatement;
}

/** @internal Main thread → worker. */
export type ToWorker =
  | { t: 'admit'; vkeys: string[] }
  | { t: 'keys'; vkeys: string[] }
  | { t: 'job'; id: number; buf: Uint8Array; offsets: Uint32Array };

/** @internal What a worker says of one body. */
export type WireMeta =
  | { error: WireError }
  | {
      payloadType: PayloadType;
      payload: unknown;
      keyids: string[];
      outcomes: Map<string, SignatureOutcome>;
    };

/**
 * @internal Worker → main thread: canonical entries and leaf hashes packed, one meta per body;
 * or, once, `{ ready: true }` when the worker has loaded.
 */
export interface FromWorker {
  ready?: true;
  id: number;
  buf: Uint8Array;
  offsets: Uint32Array;
  leaf: Uint8Array;
  meta: WireMeta[];
  /** bodies of the job the packer read */
  packed: number;
}

interface Request {
  bodies: readonly Uint8Array[];
  results: Prepared[];
  remaining: number;
  resolve: (r: Prepared[]) => void;
}

interface Job {
  parts: { req: Request; index: number }[];
}

interface Slot {
  w: Worker;
  loaded: Promise<void>;
  jobs: Map<number, Job>;
  /** bodies held */
  load: number;
}

/** Most bodies in one message to a worker (large batches are spread over the pool). */
const MAX_CHUNK = 256;
/** Fewest bodies worth a message of their own when spreading a turn's bodies. */
const MIN_CHUNK = 16;
/** Node keys remembered to seed a replacement worker. */
const MAX_REMEMBERED_KEYS = 1_000_000;

export class WorkerPreparer implements Preparer {
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private queue: Request[] = [];
  private scheduled = false;
  private seq = 0;
  private closed = false;
  private admit: string[];
  private readonly nodes = new Set<string>();
  /** Workers replaced after dying (tests, metrics). */
  restarts = 0;

  constructor(
    threads: number,
    admitVkeys: readonly string[],
    private readonly onPrepared?: OnPrepared,
  ) {
    this.threads = Math.max(1, threads);
    this.admit = [...admitVkeys];
    for (let i = 0; i < this.threads; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const entry = workerEntry(
      'log-prepare',
      new URL('./prepare-thread.ts', import.meta.url),
      new URL('./prepare-worker.mjs', import.meta.url),
    );
    const w = startWorker(entry, {
      workerData: { admit: this.admit, nodes: [...this.nodes] },
    });
    let loaded!: () => void;
    let failed!: (e: unknown) => void;
    const slot: Slot = {
      w,
      jobs: new Map(),
      load: 0,
      loaded: new Promise<void>((resolve, reject) => {
        loaded = resolve;
        failed = reject;
      }),
    };
    slot.loaded.catch(() => {});
    w.on('message', (m: FromWorker) => {
      if (m.ready !== true) return this.onResult(slot, m);
      loaded();
      if (slot.jobs.size === 0) w.unref();
    });
    const died = (e: unknown) => {
      failed(e);
      this.onDeath(slot, e);
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`preparation worker exited with code ${code}`)));
    // Referenced while it loads and while it holds work, so that the process waits for it.
    return slot;
  }

  private onDeath(slot: Slot, _e: unknown): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // already handled ('error' is followed by 'exit')
    const failure = new VPauseError(
      'UNAVAILABLE',
      'a statement preparation worker failed; retry the request',
    );
    for (const job of slot.jobs.values()) {
      for (const { req, index } of job.parts) this.settle(req, index, { error: failure });
    }
    slot.jobs.clear();
    if (this.closed) {
      this.slots.splice(i, 1);
      return;
    }
    this.restarts++;
    this.slots[i] = this.spawn();
  }

  private settle(req: Request, index: number, r: Prepared): void {
    req.results[index] = r;
    if (--req.remaining === 0) req.resolve(req.results);
  }

  private onResult(slot: Slot, m: FromWorker): void {
    const job = slot.jobs.get(m.id);
    if (job === undefined) return;
    slot.jobs.delete(m.id);
    slot.load -= job.parts.length;
    if (slot.jobs.size === 0) slot.w.unref();
    this.onPrepared?.(job.parts.length, m.packed);
    for (let i = 0; i < job.parts.length; i++) {
      const { req, index } = job.parts[i]!;
      const entry = m.buf.subarray(m.offsets[i]!, m.offsets[i + 1]!);
      this.settle(req, index, preparedOf(m.meta[i]!, entry, m.leaf.subarray(i * 32, i * 32 + 32)));
    }
  }

  prepare(bodies: readonly Uint8Array[]): Promise<Prepared[]> {
    if (bodies.length === 0) return Promise.resolve([]);
    if (this.closed) {
      const e = new VPauseError('UNAVAILABLE', 'log is shutting down');
      return Promise.resolve(bodies.map(() => ({ error: e })));
    }
    return new Promise((resolve) => {
      this.queue.push({
        bodies,
        results: new Array(bodies.length),
        remaining: bodies.length,
        resolve,
      });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate: every request readable in this turn joins the same messages.
        setImmediate(() => this.dispatch());
      }
    });
  }

  private dispatch(): void {
    this.scheduled = false;
    const reqs = this.queue;
    this.queue = [];
    let total = 0;
    for (const r of reqs) total += r.bodies.length;
    if (total === 0) return;
    const chunks = Math.max(
      Math.ceil(total / MAX_CHUNK),
      Math.min(this.slots.length, Math.ceil(total / MIN_CHUNK)),
    );
    const per = Math.ceil(total / chunks);
    let parts: Job['parts'] = [];
    for (const req of reqs) {
      for (let index = 0; index < req.bodies.length; index++) {
        parts.push({ req, index });
        if (parts.length === per) {
          this.send(parts);
          parts = [];
        }
      }
    }
    if (parts.length > 0) this.send(parts);
  }

  private send(parts: Job['parts']): void {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.load < slot.load) slot = s;
    let size = 0;
    for (const p of parts) size += p.req.bodies[p.index]!.length;
    const buf = new Uint8Array(size);
    const offsets = new Uint32Array(parts.length + 1);
    let o = 0;
    for (let i = 0; i < parts.length; i++) {
      const b = parts[i]!.req.bodies[parts[i]!.index]!;
      buf.set(b, o);
      o += b.length;
      offsets[i + 1] = o;
    }
    const id = this.seq++;
    slot.jobs.set(id, { parts });
    slot.load += parts.length;
    slot.w.ref();
    const msg: ToWorker = { t: 'job', id, buf, offsets };
    slot.w.postMessage(msg, [buf.buffer, offsets.buffer]);
  }

  setAdmitKeys(vkeys: readonly string[]): void {
    this.admit = [...vkeys];
    const msg: ToWorker = { t: 'admit', vkeys: this.admit };
    for (const s of this.slots) s.w.postMessage(msg);
  }

  addNodeKeys(vkeys: readonly string[]): void {
    const fresh = vkeys.filter((v) => !this.nodes.has(v));
    if (fresh.length === 0) return;
    if (this.nodes.size + fresh.length > MAX_REMEMBERED_KEYS) this.nodes.clear();
    for (const v of fresh) this.nodes.add(v);
    const msg: ToWorker = { t: 'keys', vkeys: fresh };
    for (const s of this.slots) s.w.postMessage(msg);
  }

  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.loaded));
  }

  /** The worker threads (tests use it to kill one). */
  get workers(): readonly Worker[] {
    return this.slots.map((s) => s.w);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.scheduled) this.dispatch();
    // Let the jobs in flight finish, then stop the threads.
    const deadline = Date.now() + 5_000;
    while (this.slots.some((s) => s.jobs.size > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all([...this.slots].map((s) => s.w.terminate()));
  }
}

/** Worker threads by default: one per core on machines with more than one. */
export function defaultThreads(): number {
  const n = availableParallelism();
  return n > 1 ? n : 0;
}

/** A preparer with `threads` worker threads (0: inline). */
export function createPreparer(
  threads: number,
  admitVkeys: readonly string[],
  onPrepared?: OnPrepared,
): Preparer {
  return threads > 0
    ? new WorkerPreparer(threads, admitVkeys, onPrepared)
    : new InlinePreparer(admitVkeys, onPrepared);
}
