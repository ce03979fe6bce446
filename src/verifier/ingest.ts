/**
 * Turning log entries into records: leaf hash, strict decoding and the signature outcomes of
 * every key the verifier may need for them, computed ahead so that the evaluation only looks them
 * up. The calling thread reads each entry bundle in one pass (./packed.ts): it hashes the leaves
 * (and, for a full aligned bundle, the subtree over them), reads the envelopes, and decodes usage
 * reports and meter readings — nearly all of a log — into columns, with a light record of each
 * (`PackedRecord`); the few other entries are decoded with `decodeEntry`. Signature verification
 * is most of a verifier's work, so for large runs the checks go, as bytes, to worker threads
 * (./verify-thread.ts, started from a bundle: src/util/worker-entry.ts), one per core, and their
 * outcomes come back into the columns; small runs check on the calling thread.
 *
 * Which keys are "needed" is decided without trusting the entries: the policy's lab root and
 * meter keys, plus the node key of every registration seen so far (authentic or not: computing
 * an outcome for a key that turns out not to matter is harmless, and the evaluation decides
 * which keys count). An outcome not computed ahead is computed when the evaluation asks.
 *
 * `decodeRun` is the reference the packed path is held to (tests/verifier-checks).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { PAYLOAD_TYPE, type RegistrationPayload } from '../../protocol/src/schemas.js';
import { httpGet } from '../client/http-get.js';
import { hashLeafInto } from '../merkle/rfc9162.js';
import { parseEntryBundle, TILE_WIDTH } from '../merkle/tiles.js';
import { BufferPool } from '../util/buffer-pool.js';
import { startWorker, workerEntry } from '../util/worker-entry.js';
import { checkSignature, decodeEntry } from './decode.js';
import {
  PackedRecord,
  type StatementRecord,
  StringTable,
  toRecord,
  type UndecodableEntry,
} from './log-index.js';
import { packRules } from './pack-rules.js';
import {
  applyOutcomes,
  type DeferredChecks,
  type IngestInput,
  type KeyRing,
  KIND_RAW,
  type PackedRun,
  Packer,
  perfectRoot,
} from './packed.js';

export { packRules } from './pack-rules.js';
export { type IngestInput, KeyRing, perfectRoot } from './packed.js';

/** Records for a run of consecutive entries, and their leaf hashes. */
export interface IngestedBatch {
  start: number;
  count: number;
  /** the leaf hashes, 32 bytes each, packed */
  leaf: Uint8Array;
  /** the root over the 256 leaves, when the run is one full tile aligned on 256 */
  subtree?: Uint8Array;
  records: (StatementRecord | UndecodableEntry)[];
  /** registration keys found in the run */
  newKeys: string[];
  /**
   * From an ingestor that defers signature checks: settles once the checks of the run's packed
   * entries are made, with the number of outcomes that came out invalid. Until then those
   * outcomes read as valid; from then on the records read the outcomes found.
   */
  checked?: Promise<number>;
}

/** Turns runs of consecutive entries into records, in order. */
export interface Ingestor {
  /** Adds keys (vkeys) whose signature outcomes should be computed ahead. */
  addKeys(vkeys: readonly string[]): void;
  /**
   * The bundle of a bundle input may be handed to another thread (its buffer detached): the
   * caller must not use it afterwards.
   * @throws {MerkleError} ENTRY_BUNDLE_MALFORMED for a bundle that does not parse
   */
  process(input: IngestInput): Promise<IngestedBatch>;
  /**
   * When the ingestor can fetch entry bundles itself (worker threads: the bytes then never reach
   * the calling thread): GETs `url`, an entry bundle of `width` entries, and processes entries
   * [skip, skip + count) of it as `process` does.
   * @throws {BundleFetchError} when the GET fails, answers other than 2xx, or redirects
   */
  fetchAndProcess?(
    url: string,
    run: { start: number; width: number; skip: number; count: number },
  ): Promise<IngestedBatch>;
  close(): Promise<void>;
}

/** Why an ingestor's GET of an entry bundle gave no bundle. */
export class BundleFetchError extends Error {
  constructor(
    /** `network` (no answer), `status` (not 2xx), `redirect` (3xx: the caller fetches it) */
    readonly kind: 'network' | 'status' | 'redirect',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The entries of an input (bundle parts are parsed and checked for their width). */
export function entriesOf(input: IngestInput): Uint8Array[] {
  if ('entries' in input) return [...input.entries];
  return parseEntryBundle(input.bundle, input.width).slice(input.skip, input.skip + input.count);
}

/** Views of the entries of an input (no copies: the caller must not change the bytes meanwhile). */
function entryViews(input: IngestInput): readonly Uint8Array[] {
  if ('entries' in input) return input.entries;
  return parseEntryBundle(input.bundle, input.width, { views: true }).slice(
    input.skip,
    input.skip + input.count,
  );
}

/**
 * Decodes a run of entries and checks the signatures of every key of `ring` they name.
 * Registration keys found are added to the ring (and returned) so that later entries benefit.
 * @throws {MerkleError} ENTRY_BUNDLE_MALFORMED for a bundle that does not parse
 */
export function decodeRun(ring: KeyRing, input: IngestInput): IngestedBatch {
  const entries = entryViews(input);
  const start = input.start;
  const leaf = new Uint8Array(entries.length * 32);
  const leafBuf = Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength);
  const records: (StatementRecord | UndecodableEntry)[] = [];
  const newKeys: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    hashLeafInto(entry, leaf, i * 32);
    const index = start + i;
    const leafHash = leafBuf.toString('hex', i * 32, i * 32 + 32);
    let d: ReturnType<typeof decodeEntry>;
    try {
      d = decodeEntry(entry);
    } catch (e) {
      records.push({ index, leafHash, code: (e as { code?: string }).code ?? 'ENTRY_INVALID' });
      continue;
    }
    if (d.payloadType === PAYLOAD_TYPE.registration) {
      const vkey = (d.payload as RegistrationPayload).key;
      if (ring.add(vkey)) newKeys.push(vkey);
    }
    const valid: string[] = [];
    const invalid: string[] = [];
    for (const s of d.signatures) {
      const keys = ring.get(s.keyid);
      if (keys === undefined) continue;
      for (const k of keys) {
        const o = checkSignature(d, k, s.keyid);
        if (o === 'valid') valid.push(k.vkey);
        else if (o === 'invalid') invalid.push(k.vkey);
      }
    }
    records.push(toRecord(index, leafHash, d, valid, invalid));
  }
  const out: IngestedBatch = { start, count: entries.length, leaf, records, newKeys };
  if (start % TILE_WIDTH === 0 && entries.length === TILE_WIDTH) out.subtree = perfectRoot(leaf);
  return out;
}

/**
 * The records of a packed run: a `PackedRecord` for each packed entry, and for each raw one the
 * record `decodeEntry` gives (with the outcomes computed ahead), or the code it throws.
 */
export function unpackRun(run: PackedRun, table = new StringTable()): IngestedBatch {
  table.take(run);
  const records: (StatementRecord | UndecodableEntry)[] = new Array(run.count);
  const leafBuf = Buffer.from(run.leaf.buffer, run.leaf.byteOffset, run.leaf.byteLength);
  for (let i = 0; i < run.count; i++) {
    const index = run.start + i;
    if (run.kind[i] !== KIND_RAW) {
      records[i] = new PackedRecord(index, run, i);
      continue;
    }
    const entry = run.raw!.subarray(run.rawAt[2 * i]!, run.rawAt[2 * i + 1]!);
    const leafHash = leafBuf.toString('hex', i * 32, i * 32 + 32);
    let d: ReturnType<typeof decodeEntry>;
    try {
      d = decodeEntry(entry);
    } catch (e) {
      records[i] = { index, leafHash, code: (e as { code?: string }).code ?? 'ENTRY_INVALID' };
      continue;
    }
    const valid: string[] = [];
    const invalid: string[] = [];
    for (let j = run.outAt[i]!; j < run.outAt[i + 1]!; j++) {
      (run.outValid[j] === 1 ? valid : invalid).push(run.strings[run.outKey[j]!]!);
    }
    records[i] = toRecord(index, leafHash, d, valid, invalid);
  }
  const out: IngestedBatch = {
    start: run.start,
    count: run.count,
    leaf: run.leaf,
    records,
    newKeys: run.newKeys,
  };
  if (run.subtree !== undefined) out.subtree = run.subtree;
  return out;
}

/** Ingestion on the calling thread. */
export class InlineIngestor implements Ingestor {
  private readonly packer: Packer;
  private readonly table = new StringTable();
  constructor(vkeys: readonly string[] = []) {
    this.packer = new Packer(packRules(), vkeys);
  }
  addKeys(vkeys: readonly string[]): void {
    for (const v of vkeys) this.packer.ring.add(v);
  }
  async process(input: IngestInput): Promise<IngestedBatch> {
    return unpackRun(this.packer.run(input), this.table);
  }
  async close(): Promise<void> {}
}

export interface WorkerIngestorOptions {
  /**
   * Answer each run as soon as it is read, its packed entries' signature checks still to come
   * (`IngestedBatch.checked`): the records of a long run of bundles then reach the caller well
   * before the last signatures are checked. Default false: a run is answered once checked.
   */
  defer?: boolean;
}

/** A run's checks sent to the pool, until a thread answers them. */
interface PoolJob {
  done: (valid: Uint8Array) => void;
  fail: (e: unknown) => void;
}

/**
 * Ingestion that packs on the calling thread and checks signatures on a pool of worker threads
 * (./verify-thread.ts). The packing (hashing, reading the envelopes and payloads into columns)
 * is ~5 % of a verifier's work and the signature checks nearly all the rest. Packed here, the
 * packer is compiled and warmed up by one isolate instead of one per worker (TurboFan spends
 * ~0.3 s of CPU on it in each), and the columns never cross threads.
 *
 * Each run's checks go to every thread of the pool, their bytes in SharedArrayBuffers, with a
 * claim word: the first thread to reach them claims and makes them, the others pass over them.
 * The threads thus share one queue, in order, without the calling thread choosing: it may be
 * busy for half a second (the speculative evaluation at the end of a sync), and a choice made
 * when a run was sent (the least busy thread then) left one thread with ~0.15 s of checks after
 * the other had finished, one core idle. With `defer` a run is answered before its checks are
 * made, and its `checked` settles when they are.
 */
export class WorkerIngestor implements Ingestor {
  private readonly packer: Packer;
  private readonly table = new StringTable();
  private readonly defer: boolean;
  /** bodies of entry bundles (~220 KiB for 256 usage reports), reused once packed */
  private readonly bodies = new BufferPool(8, 256 * 1024);
  private readonly workers: Worker[] = [];
  /** runs sent and not yet answered, by id */
  private readonly jobs = new Map<number, PoolJob>();
  /** how many of the packer's public keys (`Packer.publicKeys`, by number) the threads were sent */
  private keysSent = 0;
  private seq = 0;
  private failed: unknown;

  constructor(
    vkeys: readonly string[],
    threads = availableParallelism(),
    options: WorkerIngestorOptions = {},
  ) {
    this.defer = options.defer === true;
    this.packer = new Packer(packRules(), vkeys, { sharedChecks: true });
    const entry = workerEntry(
      'verifier-verify',
      new URL('./verify-thread.ts', import.meta.url),
      new URL('./verify-worker.mjs', import.meta.url),
    );
    const fail = (e: unknown) => {
      this.failed ??= e;
      for (const job of this.jobs.values()) job.fail(e);
      this.jobs.clear();
    };
    for (let i = 0; i < Math.max(1, threads); i++) {
      const w = startWorker(entry, {});
      w.on('message', (m: { id: number; valid: Uint8Array }) => {
        const job = this.jobs.get(m.id);
        if (job === undefined) return;
        this.jobs.delete(m.id);
        if (this.jobs.size === 0) for (const x of this.workers) x.unref();
        job.done(m.valid);
      });
      // A thread that fails or exits leaves runs it may have claimed unanswered: all fail.
      w.on('error', fail);
      w.on('exit', (code) => {
        if (this.jobs.size > 0) fail(new Error(`verifier worker exited with code ${code}`));
      });
      w.unref();
      this.workers.push(w);
    }
  }

  addKeys(vkeys: readonly string[]): void {
    for (const k of vkeys) this.packer.ring.add(k);
  }

  async process(input: IngestInput): Promise<IngestedBatch> {
    return (await this.packAndCheck(input)).batch;
  }

  /** Packs a run and sends its checks; answered once they are made, or before with `defer`. */
  private async packAndCheck(
    input: IngestInput,
  ): Promise<{ run: PackedRun; batch: IngestedBatch }> {
    if (this.failed !== undefined) throw this.failed;
    const { run, deferred } = this.packer.runDeferring(input);
    const batch = unpackRun(run, this.table);
    if (deferred === undefined) return { run, batch };
    const checked = this.check(run, batch, deferred);
    if (!this.defer) {
      await checked;
      return { run, batch };
    }
    batch.checked = checked;
    // Settled by the caller's await; a failure before that must not be unhandled.
    checked.catch(() => {});
    return { run, batch };
  }

  async fetchAndProcess(
    url: string,
    run: { start: number; width: number; skip: number; count: number },
  ): Promise<IngestedBatch> {
    if (this.failed !== undefined) throw this.failed;
    let lent: Uint8Array | undefined;
    let g: Awaited<ReturnType<typeof httpGet>>;
    try {
      g = await httpGet(url, {
        alloc: (n) => {
          lent = this.bodies.take(n);
          return lent;
        },
      });
    } catch (e) {
      throw new BundleFetchError('network', (e as Error).message);
    }
    if (g.status < 200 || g.status >= 300) {
      const redirect = g.status >= 300 && g.status < 400;
      throw new BundleFetchError(redirect ? 'redirect' : 'status', `HTTP ${g.status}`, g.status);
    }
    // A literal of one shape (a spread made a new map, and a deoptimisation of the packer).
    const packed = await this.packAndCheck({
      start: run.start,
      bundle: g.body,
      width: run.width,
      skip: run.skip,
      count: run.count,
    });
    // Reused unless raw entries were left in it (their records may read it).
    if (lent !== undefined && packed.run.raw === undefined) this.bodies.give(lent);
    return packed.batch;
  }

  /** Sends a run's deferred checks to the pool; settles with the invalid count. */
  private check(run: PackedRun, batch: IngestedBatch, d: DeferredChecks): Promise<number> {
    const id = this.seq++;
    const keys = this.packer.publicKeys;
    return new Promise<number>((resolve, reject) => {
      const done = (valid: Uint8Array) => {
        const invalid = applyOutcomes(run.outValid, d, valid, (i) => {
          const r = batch.records[i];
          if (r instanceof PackedRecord) r.recheck();
        });
        // The threads that passed over the run read only its claim word, never these bytes.
        this.packer.recycle(d);
        resolve(invalid);
      };
      const message = {
        id,
        claim: new Int32Array(new SharedArrayBuffer(4)),
        keys: this.keysSent < keys.length ? keys.slice(this.keysSent) : undefined,
        msgs: d.msgs,
        msgAt: d.msgAt,
        sigs: d.sigs,
        keyNos: d.keyNos,
      };
      // Counted as sent, and waited for, only once posted (a throw here rejects the promise).
      for (const w of this.workers) w.postMessage(message);
      this.keysSent = keys.length;
      this.jobs.set(id, { done, fail: reject });
      for (const w of this.workers) w.ref();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Entries above which a run is worth the worker threads' start-up. */
export const WORKER_THRESHOLD = 4096;

/**
 * An ingestor for about `expected` entries: worker threads for large runs, inline otherwise.
 */
export function createIngestor(
  vkeys: readonly string[],
  expected: number,
  threads?: number,
  options: WorkerIngestorOptions = {},
): Ingestor {
  if (expected < WORKER_THRESHOLD || threads === 0) return new InlineIngestor(vkeys);
  return new WorkerIngestor(vkeys, threads, options);
}
