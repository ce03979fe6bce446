/**
 * Turning log entries into records: leaf hash, strict decoding (./decode.ts) and the signature
 * outcomes of every key the verifier may need for them, computed ahead so that the evaluation
 * only looks them up. Signature verification is most of a verifier's work, so large runs spread
 * it over worker threads (./worker.mjs), one per core, each taking whole entry bundles as they
 * arrive from the log (parsing them, hashing the leaves and, for a full aligned bundle, the
 * subtree over them); small runs stay on the calling thread.
 *
 * Which keys are "needed" is decided without trusting the entries: the policy's lab root and
 * meter keys, plus the node key of every registration seen so far (authentic or not: computing
 * an outcome for a key that turns out not to matter is harmless, and the evaluation decides
 * which keys count). An outcome not computed ahead is computed when the evaluation asks.
 */
import { hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PAYLOAD_TYPE, type RegistrationPayload } from '../../protocol/src/schemas.js';
import { parseEntryBundle, TILE_WIDTH } from '../merkle/tiles.js';
import { keyIdString, parseVerifierKey, type VerifierKey } from '../note/keys.js';
import { checkSignature, decodeEntry } from './decode.js';
import { type StatementRecord, toRecord, type UndecodableEntry } from './log-index.js';

/** A run of consecutive entries: listed, or the part [skip, skip + count) of an entry bundle. */
export type IngestInput =
  | { start: number; entries: readonly Uint8Array[] }
  | { start: number; bundle: Uint8Array; width: number; skip: number; count: number };

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
}

/** Turns runs of consecutive entries into records, in order. */
export interface Ingestor {
  /** Adds keys (vkeys) whose signature outcomes should be computed ahead. */
  addKeys(vkeys: readonly string[]): void;
  /**
   * @throws {MerkleError} ENTRY_BUNDLE_MALFORMED for a bundle that does not parse
   */
  process(input: IngestInput): Promise<IngestedBatch>;
  close(): Promise<void>;
}

/** The keys to compute ahead, by keyid. */
export class KeyRing {
  private readonly byId = new Map<string, VerifierKey[]>();
  private readonly seen = new Set<string>();

  constructor(vkeys: readonly string[] = []) {
    for (const v of vkeys) this.add(v);
  }

  add(vkey: string): boolean {
    if (this.seen.has(vkey)) return false;
    let k: VerifierKey;
    try {
      k = parseVerifierKey(vkey);
    } catch {
      return false;
    }
    this.seen.add(vkey);
    const id = keyIdString(k);
    const l = this.byId.get(id);
    if (l === undefined) this.byId.set(id, [k]);
    else l.push(k);
    return true;
  }

  get(keyid: string): readonly VerifierKey[] | undefined {
    return this.byId.get(keyid);
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

/** A scratch buffer for the inputs of leaf and node hashes (one thread uses it at a time). */
let scratch = new Uint8Array(1 + 65_536);
const NODE_INPUT = new Uint8Array(65);
NODE_INPUT[0] = 1;

/** The RFC 9162 leaf hash of `entry`, written at `out[at…at+32)`. */
function leafHashInto(entry: Uint8Array, out: Uint8Array, at: number): void {
  if (scratch.length < entry.length + 1) scratch = new Uint8Array(entry.length + 1);
  scratch[0] = 0;
  scratch.set(entry, 1);
  out.set(hash('sha256', scratch.subarray(0, entry.length + 1), 'buffer'), at);
}

/**
 * The RFC 9162 root over 2^k packed leaf hashes (`leaf` holds 32·2^k bytes): the root of a
 * full aligned tile, without an array of hashes per level.
 */
export function perfectRoot(leaf: Uint8Array): Uint8Array {
  let n = leaf.length / 32;
  const level = leaf.slice();
  while (n > 1) {
    for (let i = 0; i < n; i += 2) {
      NODE_INPUT.set(level.subarray(i * 32, i * 32 + 64), 1);
      level.set(hash('sha256', NODE_INPUT, 'buffer'), (i / 2) * 32);
    }
    n /= 2;
  }
  return level.slice(0, 32);
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
    leafHashInto(entry, leaf, i * 32);
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

/** Ingestion on the calling thread. */
export class InlineIngestor implements Ingestor {
  private readonly ring: KeyRing;
  constructor(vkeys: readonly string[] = []) {
    this.ring = new KeyRing(vkeys);
  }
  addKeys(vkeys: readonly string[]): void {
    for (const v of vkeys) this.ring.add(v);
  }
  async process(input: IngestInput): Promise<IngestedBatch> {
    return decodeRun(this.ring, input);
  }
  async close(): Promise<void> {}
}

interface Job {
  resolve: (b: IngestedBatch) => void;
  reject: (e: unknown) => void;
}

/**
 * Ingestion on a pool of worker threads. Runs are handed to the least busy worker; keys added
 * reach every worker before its next run.
 */
export class WorkerIngestor implements Ingestor {
  private readonly workers: { w: Worker; jobs: Map<number, Job> }[] = [];
  private seq = 0;
  private failed: unknown;

  constructor(vkeys: readonly string[], threads = availableParallelism()) {
    for (let i = 0; i < Math.max(1, threads); i++) {
      // A larger young generation: a run's records are short-lived in the worker.
      const w = new Worker(new URL('./worker.mjs', import.meta.url), {
        workerData: { vkeys },
        resourceLimits: { maxYoungGenerationSizeMb: 64 },
      });
      const slot = { w, jobs: new Map<number, Job>() };
      w.on(
        'message',
        (m: { id: number; batch?: IngestedBatch; error?: { code?: string; message: string } }) => {
          const job = slot.jobs.get(m.id);
          if (job === undefined) return;
          slot.jobs.delete(m.id);
          if (slot.jobs.size === 0) w.unref();
          if (m.batch === undefined) {
            job.reject(
              Object.assign(new Error(m.error?.message ?? 'worker failed'), {
                code: m.error?.code,
              }),
            );
            return;
          }
          if (m.batch.newKeys.length > 0) this.addKeys(m.batch.newKeys);
          job.resolve(m.batch);
        },
      );
      const fail = (e: unknown) => {
        this.failed = e;
        for (const j of slot.jobs.values()) j.reject(e);
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
      const bundle = input.bundle.slice();
      msg = {
        start: input.start,
        bundle,
        width: input.width,
        skip: input.skip,
        count: input.count,
      };
      transfer = [bundle.buffer];
    }
    const slot = this.workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.seq++;
    return new Promise<IngestedBatch>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.w.ref();
      slot.w.postMessage({ id, ...msg }, transfer);
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
): Ingestor {
  if (expected < WORKER_THRESHOLD || threads === 0) return new InlineIngestor(vkeys);
  return new WorkerIngestor(vkeys, threads);
}
