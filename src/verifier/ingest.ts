/**
 * Turning log entries into records: leaf hash, strict decoding and the signature outcomes of
 * every key the verifier may need for them, computed ahead so that the evaluation only looks them
 * up. Signature verification is most of a verifier's work, so large runs spread it over worker
 * threads (./worker-thread.ts, started from a bundle: src/util/worker-entry.ts), one per core,
 * each taking whole entry bundles as they arrive from the log, transferred as raw bytes. A worker
 * makes one pass over a bundle (./packed.ts): it hashes the leaves (and, for a full aligned
 * bundle, the subtree over them), checks the signatures, and decodes usage reports and meter
 * readings — nearly all of a log — into columns that are transferred back whole; the main thread
 * makes a light record of each (`PackedRecord`) and decodes the few other entries itself with
 * `decodeEntry`. Small runs do the same on the calling thread.
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
import { hashLeafInto } from '../merkle/rfc9162.js';
import { parseEntryBundle, TILE_WIDTH } from '../merkle/tiles.js';
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
  type CheckedOutcomes,
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

interface Job {
  resolve: (b: IngestedBatch) => void;
  reject: (e: unknown) => void;
  /** a run answered whose deferred checks are still to come */
  pending?: {
    run: PackedRun;
    batch: IngestedBatch;
    resolve: (invalid: number) => void;
    reject: (e: unknown) => void;
  };
}

export interface WorkerIngestorOptions {
  /**
   * Answer each run as soon as it is read, its packed entries' signature checks still to come
   * (`IngestedBatch.checked`): the records of a long run of bundles then reach the caller well
   * before the last signatures are checked. Default false: a run is answered once checked.
   */
  defer?: boolean;
}

/** Writes deferred outcomes into their run; the records they belong to read them from now on. */
function applyOutcomes(p: NonNullable<Job['pending']>, o: CheckedOutcomes): number {
  let invalid = 0;
  for (let k = 0; k < o.slots.length; k++) {
    p.run.outValid[o.slots[k]!] = o.valid[k]!;
    if (o.valid[k] === 1) continue;
    invalid++;
    const r = p.batch.records[o.entries[k]!];
    if (r instanceof PackedRecord) r.recheck();
  }
  return invalid;
}

/**
 * Ingestion on a pool of worker threads. Runs are handed to the least busy worker (a run counts
 * until its checks are made); keys added reach every worker before its next run.
 */
export class WorkerIngestor implements Ingestor {
  private readonly workers: { w: Worker; jobs: Map<number, Job>; table: StringTable }[] = [];
  private seq = 0;
  private failed: unknown;
  private readonly defer: boolean;

  constructor(
    vkeys: readonly string[],
    threads = availableParallelism(),
    options: WorkerIngestorOptions = {},
  ) {
    this.defer = options.defer === true;
    const entry = workerEntry(
      'verifier-ingest',
      new URL('./worker-thread.ts', import.meta.url),
      new URL('./worker.mjs', import.meta.url),
    );
    for (let i = 0; i < Math.max(1, threads); i++) {
      // A larger young generation: a run's strings and buffers are short-lived in the worker.
      const w = startWorker(entry, {
        workerData: { vkeys, rules: packRules() },
        resourceLimits: { maxYoungGenerationSizeMb: 64 },
      });
      const slot = { w, jobs: new Map<number, Job>(), table: new StringTable() };
      w.on(
        'message',
        (m: {
          id: number;
          run?: PackedRun;
          pending?: boolean;
          outcomes?: CheckedOutcomes;
          error?: {
            code?: string;
            message: string;
            fetch?: 'network' | 'status' | 'redirect';
            status?: number;
          };
        }) => {
          const job = slot.jobs.get(m.id);
          if (job === undefined) return;
          // A job ends with its run, or, when its checks were deferred, with their outcomes.
          const done = () => {
            slot.jobs.delete(m.id);
            if (slot.jobs.size === 0) w.unref();
          };
          if (m.outcomes !== undefined) {
            if (job.pending === undefined) return;
            done();
            job.pending.resolve(applyOutcomes(job.pending, m.outcomes));
            return;
          }
          if (m.run === undefined) {
            done();
            const err = m.error;
            job.reject(
              err?.fetch !== undefined
                ? new BundleFetchError(err.fetch, err.message, err.status)
                : Object.assign(new Error(err?.message ?? 'worker failed'), { code: err?.code }),
            );
            return;
          }
          if (m.run.newKeys.length > 0) this.addKeys(m.run.newKeys);
          let batch: IngestedBatch;
          try {
            batch = unpackRun(m.run, slot.table);
          } catch (e) {
            done();
            job.reject(e);
            return;
          }
          if (m.pending === true) {
            const run = m.run;
            batch.checked = new Promise<number>((resolve, reject) => {
              job.pending = { run, batch, resolve, reject };
            });
            // Settled by the caller's await; a failure before that must not be unhandled.
            batch.checked.catch(() => {});
          } else {
            done();
          }
          job.resolve(batch);
        },
      );
      const fail = (e: unknown) => {
        this.failed = e;
        for (const j of slot.jobs.values()) {
          if (j.pending !== undefined) j.pending.reject(e);
          else j.reject(e);
        }
        slot.jobs.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (slot.jobs.size > 0) fail(new Error(`verifier worker exited with code ${code}`));
      });
      w.unref();
      this.workers.push(slot);
    }
  }

  addKeys(vkeys: readonly string[]): void {
    for (const s of this.workers) s.w.postMessage({ keys: vkeys });
  }

  process(input: IngestInput): Promise<IngestedBatch> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    let msg: Record<string, unknown>;
    let transfer: ArrayBuffer[];
    if ('entries' in input) {
      let total = 0;
      for (const e of input.entries) total += e.length;
      const buf = new Uint8Array(total);
      const offsets = new Uint32Array(input.entries.length + 1);
      let o = 0;
      input.entries.forEach((e, i) => {
        buf.set(e, o);
        o += e.length;
        offsets[i + 1] = o;
      });
      msg = { start: input.start, buf, offsets };
      transfer = [buf.buffer, offsets.buffer];
    } else {
      // The bundle is handed over (transferred) when it is a whole buffer of its own.
      const whole =
        input.bundle.byteOffset === 0 && input.bundle.byteLength === input.bundle.buffer.byteLength;
      const bundle = whole ? input.bundle : input.bundle.slice();
      msg = {
        start: input.start,
        bundle,
        width: input.width,
        skip: input.skip,
        count: input.count,
      };
      transfer = [bundle.buffer as ArrayBuffer];
    }
    return this.send(msg, transfer);
  }

  fetchAndProcess(
    url: string,
    run: { start: number; width: number; skip: number; count: number },
  ): Promise<IngestedBatch> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    return this.send({ url, ...run }, []);
  }

  private send(msg: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<IngestedBatch> {
    const slot = this.workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.seq++;
    return new Promise<IngestedBatch>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.w.ref();
      slot.w.postMessage(this.defer ? { id, defer: true, ...msg } : { id, ...msg }, transfer);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.w.terminate()));
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
