/**
 * The log service core, without HTTP: admission → group-commit sequencing → integration and
 * checkpoint signing → reads (tiles, entry bundles, proofs, receipts).
 *
 * Stages (after Tessera): `submit` returns an index only once the entry is durable in storage;
 * integration into the tree and checkpoint signing run behind it, at least every
 * `integrateIntervalMs` while anything is pending, by whichever process holds the sequencer
 * lease. The latest checkpoint is persisted (atomically with its tiles) before it is served, and
 * on start-up it is checked against the tree recomputed from the stored tiles, so the log never
 * signs a checkpoint inconsistent with one it signed before, also across crashes.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { parseEntry } from '../../protocol/src/index.js';
import { bytesEqual, fromUtf8, toHex, utf8 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { emptyRoot } from '../merkle/rfc9162.js';
import { integrate, TILE_WIDTH, type TileId, treeHashFromTiles } from '../merkle/tiles.js';
import { type SignerKey, verifierKeyOf } from '../note/keys.js';
import { openCheckpoint, signCheckpoint } from '../tlog/checkpoint.js';
import { formatTlogProof } from '../tlog/proof.js';
import {
  type AdmitIndex,
  type Admitted,
  admit,
  admitVkeys,
  STATEMENT_CLAIM_PREFIX,
} from './admission.js';
import { Batcher } from './batcher.js';
import type { LogMetrics } from './metrics.js';
import type { Prepared } from './prepare.js';
import { createPreparer, type Preparer } from './prepare-pool.js';
import type { ProofIndex } from './proof-index.js';
import type { LogStorage, NodeKeyRecord, SequenceItem, SequenceResult } from './storage/types.js';
import { fullTileTrees, type TileTree, tileSummaries } from './tile-tree.js';
import { TreeNodes } from './tree-nodes.js';

export interface LogServiceConfig {
  storage: LogStorage;
  /** The log's note signing key (type 0x01). */
  signer: SignerKey;
  /** Checkpoint origin; defaults to the log key's name. */
  origin?: string;
  admit: AdmitIndex;
  logger: Logger;
  metrics: LogMetrics;
  /** Take part in sequencer election (integrate and sign). Default true. */
  sequencer?: boolean;
  /** How often the integrator looks for pending entries. Default 200 ms. */
  integrateIntervalMs?: number;
  /** Most entries integrated per checkpoint. Default 65,536. */
  maxIntegrateBatch?: number;
  /** Group commit: most statements per durable transaction. Default 4,096. */
  maxSequenceBatch?: number;
  /** Most statements waiting for sequencing before 503 pushback. Default 50,000. */
  maxPending?: number;
  /** Sequencer lease time to live. Default 5 s. */
  leaseTtlMs?: number;
  /**
   * Worker threads that parse submissions and verify their signatures (./prepare-pool.ts).
   * Default 0: everything on the calling thread. (`vpause log serve` defaults to one per core.)
   */
  threads?: number;
  /**
   * Publication stage (the witness client hooks in here): given a freshly signed checkpoint,
   * resolves with the note to serve (e.g. with cosignatures), or undefined to keep serving the
   * previous one. Default: serve the signed checkpoint as it is.
   */
  publish?: (signedCheckpoint: string) => Promise<string | undefined>;
  /**
   * The proof index (./proof-index.ts) for inclusion proofs; the service fills it from stored
   * tiles as the tree grows (also on followers) and rewrites records that fail their check.
   * It is closed by close().
   */
  proofIndex?: ProofIndex;
}

export interface SubmitResult {
  index: number;
  leafHash: string;
  duplicate: boolean;
}

export type BatchResult = SubmitResult | { error: VPauseError };

/** Full tiles never change, so their subtree hashes are cached without expiry (~16 KiB each). */
const FULL_TILE_CACHE = 2048;

export class LogService {
  readonly origin: string;
  private readonly storage: LogStorage;
  private readonly signer: SignerKey;
  private admitList: AdmitIndex;
  private readonly log: Logger;
  private readonly metrics: LogMetrics;
  private readonly batcher: Batcher<SequenceItem, SequenceResult>;
  private readonly preparer: Preparer;
  private readonly owner = randomUUID();
  /** Tiles and proof nodes through their caches (./tree-nodes.ts). */
  private readonly nodes: TreeNodes;
  private readonly nodeKeys = new LRUCache<string, NodeKeyRecord>({ max: 100_000, ttl: 2_000 });
  private published: { size: number; note: Uint8Array } | undefined;
  private integratedSize = 0;
  private indexing: Promise<void> | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly publishFn: (cp: string) => Promise<string | undefined>;

  constructor(private readonly cfg: LogServiceConfig) {
    this.storage = cfg.storage;
    this.nodes = new TreeNodes(cfg.storage, {
      fullTiles: FULL_TILE_CACHE,
      ...(cfg.proofIndex !== undefined ? { index: cfg.proofIndex } : {}),
    });
    this.signer = cfg.signer;
    this.origin = cfg.origin ?? cfg.signer.name;
    this.admitList = cfg.admit;
    this.log = cfg.logger;
    this.metrics = cfg.metrics;
    this.publishFn = cfg.publish ?? (async (cp) => cp);
    this.preparer = createPreparer(cfg.threads ?? 0, admitVkeys(cfg.admit), (n, packed) => {
      this.metrics.prepared.inc({ path: 'packed' }, packed);
      this.metrics.prepared.inc({ path: 'parsed' }, n - packed);
    });
    this.batcher = new Batcher<SequenceItem, SequenceResult>(
      (items) => this.storage.sequence(items),
      { maxBatch: cfg.maxSequenceBatch ?? 4096, maxPending: cfg.maxPending ?? 50_000 },
      (n, s) => {
        this.metrics.batchSize.observe(n);
        this.metrics.sequenceSeconds.observe(s);
        this.wake?.();
      },
    );
  }

  /** Checks the stored state and starts the integrator. @throws LOG_STATE_CORRUPT */
  async start(): Promise<void> {
    try {
      await this.preparer.ready();
      await this.checkStoredState();
      await this.refreshPublished();
    } catch (e) {
      await this.preparer.close();
      throw e;
    }
    const ix = this.cfg.proofIndex;
    if (ix !== undefined && ix.covered * TILE_WIDTH > this.integratedSize) {
      // More records than the database has full tiles: the file is not this database's.
      this.log.warn({ covered: ix.covered * TILE_WIDTH }, 'proof index ahead of the tree; reset');
      ix.reset();
    }
    this.metrics.proofIndexLeaves.set((ix?.covered ?? 0) * TILE_WIDTH);
    if (this.cfg.sequencer !== false) this.loop = this.integrateLoop();
    else this.loop = this.followLoop();
    this.indexTiles();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.batcher.close();
    await this.preparer.close();
    await this.loop;
    await this.indexing;
    this.cfg.proofIndex?.close();
    if (this.cfg.sequencer !== false) await this.storage.releaseLease(this.owner).catch(() => {});
  }

  /** Leaves covered by the proof index (/healthz; the bench waits for it). */
  get proofIndexSize(): number {
    return (this.cfg.proofIndex?.covered ?? 0) * TILE_WIDTH;
  }

  /**
   * Brings the proof index up to the integrated tree in the background: one catch-up at a time,
   * started at start-up and whenever the tree grows. Damaged records are rewritten first.
   */
  private indexTiles(): void {
    const ix = this.cfg.proofIndex;
    if (ix === undefined || this.indexing !== undefined || this.stopped) return;
    this.indexing = this.catchUpIndex(ix)
      .catch((e: unknown) => this.log.warn({ err: e }, 'filling the proof index failed'))
      .finally(() => {
        this.indexing = undefined;
      });
  }

  /**
   * Writes the proof index records of tiles this process just integrated, from the trees it
   * hashed for their summaries, when they continue the covered prefix and no catch-up is
   * reading tiles (which then reaches them itself).
   */
  private indexIntegrated(trees: readonly { index: number; tree: TileTree }[]): void {
    const ix = this.cfg.proofIndex;
    if (ix === undefined || this.indexing !== undefined || trees.length === 0) return;
    for (const { index, tree } of trees) if (index === ix.covered) ix.write(index, tree);
    this.metrics.proofIndexLeaves.set(ix.covered * TILE_WIDTH);
  }

  private async catchUpIndex(ix: ProofIndex): Promise<void> {
    // 16 tiles (4,096 leaves, ~5 ms of hashing) between two turns of the event loop.
    const CHUNK = 16;
    while (!this.stopped) {
      const todo = ix.takeDamaged(CHUNK);
      if (todo.length > 0) {
        // Torn, lost or foreign blocks: worth an operator's look when it is not after a crash.
        this.log.warn({ tiles: todo }, 'proof index blocks failed their check; rewriting');
        this.metrics.proofIndexRewrites.inc(todo.length);
      }
      const full = Math.floor(this.integratedSize / TILE_WIDTH);
      for (let t = ix.covered; todo.length < CHUNK && t < full; t++) todo.push(t);
      if (todo.length === 0) return;
      const tiles = await this.storage.readTiles(todo.map((index) => ({ level: 0, index })));
      for (let i = 0; i < todo.length; i++) {
        const t = tiles[i];
        if (t === undefined || t.length !== TILE_WIDTH * 32) {
          throw new VPauseError('LOG_STATE_CORRUPT', `full level-0 tile ${todo[i]} is not stored`);
        }
        ix.write(todo[i]!, t);
      }
      this.metrics.proofIndexLeaves.set(ix.covered * TILE_WIDTH);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Replaces the admission list (ADMIT.txt reloaded on SIGHUP). */
  setAdmitList(list: AdmitIndex): void {
    this.admitList = list;
    this.preparer.setAdmitKeys(admitVkeys(list));
  }

  /** Where submissions are parsed and verified (tests look at the worker pool). */
  get preparation(): Preparer {
    return this.preparer;
  }

  get pending(): number {
    return this.batcher.pending;
  }

  /** Number of durably sequenced entries (integrated or not). */
  sequencedSize(): Promise<number> {
    return this.storage.sequencedSize();
  }

  // ---- writes -------------------------------------------------------------------------------

  private lookupNodeKey = async (keyId: string): Promise<NodeKeyRecord | undefined> => {
    const hit = this.nodeKeys.get(keyId);
    if (hit !== undefined) return hit;
    const rec = await this.storage.getNodeKey(keyId);
    if (rec !== undefined && rec.revokedAt === undefined) this.nodeKeys.set(keyId, rec);
    return rec;
  };

  /** A node key admission had to verify inline: let the workers check it ahead from now on. */
  private learnKey = (vkey: string): void => {
    this.preparer.addNodeKeys([vkey]);
  };

  private admitPrepared(p: Prepared): Promise<Admitted> {
    if ('error' in p) return Promise.reject(p.error);
    return admit(p, this.admitList, this.lookupNodeKey, this.learnKey);
  }

  private async finish(a: Admitted, r: SequenceResult): Promise<SubmitResult> {
    const item = a.item;
    if (r.status === 'conflict') {
      // The claim is held. The same statement in another envelope is a duplicate (SPEC
      // security considerations: identity is payload type, payload and signer); other content
      // under a chain's seq is an equivocation.
      if (await this.sameStatement(a, r.index)) {
        const [leaf] = await this.storage.readLeafHashes(r.index, 1);
        if (leaf !== undefined) return { index: r.index, leafHash: toHex(leaf), duplicate: true };
      }
      throw new VPauseError(
        'SEQ_CONFLICT',
        `seq ${item.claim?.seq} of ${item.claim?.chain} is already logged at index ${r.index} with other content`,
      );
    }
    if (item.keyEvent !== undefined) {
      this.nodeKeys.delete(item.keyEvent.keyId);
      if (item.keyEvent.action === 'add') this.preparer.addNodeKeys([item.keyEvent.vkey]);
    }
    return { index: r.index, leafHash: toHex(item.leafHash), duplicate: r.status === 'duplicate' };
  }

  /** Whether the entry at `index` has the payload type and payload of `a`, signed by its signer. */
  private async sameStatement(a: Admitted, index: number): Promise<boolean> {
    if (a.item.claim?.chain.startsWith(STATEMENT_CLAIM_PREFIX)) return true; // the claim says so
    const [entry] = await this.storage.readEntries(index, 1);
    if (entry === undefined) return false;
    let logged: ReturnType<typeof parseEntry>;
    let mine: ReturnType<typeof parseEntry>;
    try {
      logged = parseEntry(entry);
      mine = parseEntry(a.item.data);
    } catch {
      return false;
    }
    return (
      logged.payloadType === mine.payloadType &&
      logged.envelope.payload === mine.envelope.payload &&
      logged.envelope.signatures.some((s) => s.keyid === a.signer)
    );
  }

  /**
   * Admits one statement and resolves once it is durably sequenced.
   * @throws {VPauseError} statement, admission, SEQ_CONFLICT or LOG_PUSHBACK errors
   */
  async submit(body: Uint8Array): Promise<SubmitResult> {
    let admitted: Admitted;
    try {
      const [p] = await this.preparer.prepare([body]);
      admitted = await this.admitPrepared(p!);
    } catch (e) {
      this.count(e);
      throw e;
    }
    try {
      const r = await this.finish(admitted, await this.batcher.add(admitted.item));
      this.metrics.ingest.inc({ result: r.duplicate ? 'duplicate' : 'ok' });
      return r;
    } catch (e) {
      this.count(e);
      throw e;
    }
  }

  /** Admits many statements; one result per element, in order. */
  async submitBatch(bodies: readonly Uint8Array[]): Promise<BatchResult[]> {
    const parsed = await this.preparer.prepare(bodies);
    const prepared = await Promise.all(
      parsed.map(async (p) => {
        try {
          return await this.admitPrepared(p);
        } catch (e) {
          this.count(e);
          return { error: asVPauseError(e) };
        }
      }),
    );
    const items = prepared.filter((p): p is Admitted => !('error' in p)).map((a) => a.item);
    // Pushback refuses the whole batch before anything is queued.
    const promises = items.length > 0 ? this.batcher.addAll(items) : [];
    const settled = await Promise.allSettled(promises);
    let k = 0;
    return Promise.all(
      prepared.map(async (p) => {
        if ('error' in p) return p;
        const s = settled[k++]!;
        try {
          if (s.status === 'rejected') throw s.reason;
          const r = await this.finish(p, s.value);
          this.metrics.ingest.inc({ result: r.duplicate ? 'duplicate' : 'ok' });
          return r;
        } catch (e) {
          this.count(e);
          return { error: asVPauseError(e) };
        }
      }),
    );
  }

  private count(e: unknown): void {
    this.metrics.ingest.inc({ result: e instanceof VPauseError ? e.code : 'INTERNAL' });
  }

  // ---- integration --------------------------------------------------------------------------

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async integrateLoop(): Promise<void> {
    const interval = this.cfg.integrateIntervalMs ?? 200;
    const ttl = this.cfg.leaseTtlMs ?? 5_000;
    // The lease is renewed once a third of its time to live has passed, not on every round: each
    // renewal is a durable write (an fsync that blocks SQLite's event loop). Until it expires no
    // other process can take it, and integration commits by compare-and-swap in any case.
    let renewAt = 0;
    while (!this.stopped) {
      let advanced = false;
      try {
        const t = Date.now();
        let held = t < renewAt;
        if (!held) {
          held = await this.storage.acquireLease(this.owner, ttl);
          renewAt = held ? t + ttl / 3 : 0;
        }
        if (held) {
          this.metrics.sequencer.set(1);
          advanced = await this.integrateOnce();
        } else {
          this.metrics.sequencer.set(0);
          await this.refreshPublished();
        }
      } catch (e) {
        this.log.error({ err: e }, 'integration failed');
      }
      if (!advanced && !this.stopped) await this.sleep(interval);
    }
  }

  private async followLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.refreshPublished();
      } catch (e) {
        this.log.error({ err: e }, 'refreshing the checkpoint failed');
      }
      await this.sleep(this.cfg.integrateIntervalMs ?? 200);
    }
  }

  /**
   * Integrates pending entries into the tree, signs and persists a checkpoint, then publishes it.
   * Resolves true when the tree grew.
   */
  async integrateOnce(): Promise<boolean> {
    const t0 = performance.now();
    const state = await this.storage.treeState();
    const sequenced = await this.storage.sequencedSize();
    const n = Math.min(sequenced - state.size, this.cfg.maxIntegrateBatch ?? 65_536);
    if (n <= 0) {
      if (state.checkpoint === undefined) {
        // A fresh log: sign the empty tree so /checkpoint answers from the start.
        const cp = signCheckpoint(
          { origin: this.origin, size: 0, rootHash: emptyRoot(), extensions: [] },
          this.signer,
        );
        const ok = await this.storage.commitIntegration(
          0,
          { size: 0, rootHash: emptyRoot(), checkpoint: utf8(cp) },
          [],
        );
        if (ok) await this.publishCheckpoint(cp, 0);
      } else if (this.published === undefined || this.published.size < state.size) {
        await this.publishCheckpoint(fromUtf8(state.checkpoint), state.size);
      }
      return false;
    }
    const leaves = await this.storage.readLeafHashes(state.size, n);
    const r = await integrate(state.size, leaves, (ids) => this.storage.readTiles(ids));
    const cp = signCheckpoint(
      { origin: this.origin, size: r.size, rootHash: r.rootHash, extensions: [] },
      this.signer,
    );
    // Each newly full level-0 tile's subtree is hashed once, for its summary and its proof
    // index record.
    const trees = fullTileTrees(r.tiles);
    const ok = await this.storage.commitIntegration(
      state.size,
      { size: r.size, rootHash: r.rootHash, checkpoint: utf8(cp) },
      [...r.tiles, ...tileSummaries(r.tiles, trees)],
    );
    if (!ok) {
      this.log.warn({ size: state.size }, 'lost the integration race; another sequencer advanced');
      return false;
    }
    this.integratedSize = r.size;
    this.metrics.treeSize.set(r.size);
    this.indexIntegrated(trees);
    this.indexTiles();
    this.metrics.integrationSeconds.observe((performance.now() - t0) / 1000);
    await this.publishCheckpoint(cp, r.size);
    return true;
  }

  private async publishCheckpoint(cp: string, size: number): Promise<void> {
    const note = await this.publishFn(cp);
    if (note !== undefined) {
      this.published = { size, note: utf8(note) };
      this.metrics.publishedSize.set(size);
    }
  }

  /**
   * Serves `note` from now on: a checkpoint of `size` signed by this log (usually with witness
   * cosignatures appended), for publication stages that finish after the `publish` hook returned
   * (the witness client, src/log/witness-client.ts). Refused (false) when the note does not open
   * with the log key at that size, the size is beyond the integrated tree, or a larger checkpoint
   * is already served; at the served size it replaces the note (e.g. with more cosignatures).
   */
  setPublished(size: number, note: string): boolean {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.integratedSize) return false;
    if (this.published !== undefined && size < this.published.size) return false;
    try {
      const cp = openCheckpoint(note, verifierKeyOf(this.signer), [], { origin: this.origin });
      if (cp.checkpoint.size !== size) return false;
    } catch {
      return false;
    }
    this.published = { size, note: utf8(note) };
    this.metrics.publishedSize.set(size);
    // Persist it so other front ends and a restarted log serve it without a new witness round.
    this.storage.setPublished(size, this.published.note).catch((e) => {
      this.log.error({ err: e, size }, 'persisting the published checkpoint failed');
    });
    return true;
  }

  /** Followers (and sequencers that lost the lease) serve what the database says. */
  private async refreshPublished(): Promise<void> {
    const st = await this.storage.treeState();
    this.integratedSize = st.size;
    this.metrics.treeSize.set(st.size);
    this.indexTiles();
    if (st.checkpoint !== undefined && (this.published?.size ?? -1) < st.size) {
      if (this.cfg.publish === undefined) {
        this.published = { size: st.size, note: st.checkpoint };
        this.metrics.publishedSize.set(st.size);
        return;
      }
    }
    if (this.cfg.publish !== undefined) {
      // Witnessed: serve only what a sequencer published (cosigned to quorum) and persisted.
      const p = await this.storage.published();
      if (p !== undefined && p.size > (this.published?.size ?? -1)) {
        this.setPublishedNote(p.size, p.note);
      }
    }
  }

  /** Serves a persisted note after checking it is our checkpoint of that size. */
  private setPublishedNote(size: number, note: Uint8Array): void {
    try {
      const cp = openCheckpoint(note, verifierKeyOf(this.signer), [], { origin: this.origin });
      if (cp.checkpoint.size !== size || size > this.integratedSize) return;
    } catch (e) {
      this.log.error(
        { err: e, size },
        'stored published checkpoint does not verify; not serving it',
      );
      return;
    }
    this.published = { size, note };
    this.metrics.publishedSize.set(size);
  }

  /**
   * Start-up check: the stored checkpoint is ours, matches the stored tree state, and its root is
   * what the stored tiles give.
   * @throws {VPauseError<'LOG_STATE_CORRUPT'>}
   */
  private async checkStoredState(): Promise<void> {
    const st = await this.storage.treeState();
    this.integratedSize = st.size;
    if (st.checkpoint === undefined) {
      if (st.size !== 0) throw corrupt(`tree of size ${st.size} has no checkpoint`);
      return;
    }
    let cp: { size: number; rootHash: Uint8Array };
    try {
      cp = openCheckpoint(st.checkpoint, verifierKeyOf(this.signer), [], {
        origin: this.origin,
      }).checkpoint;
    } catch (e) {
      throw corrupt(`stored checkpoint does not verify with the log key: ${(e as Error).message}`);
    }
    if (cp.size !== st.size || !bytesEqual(cp.rootHash, st.rootHash)) {
      throw corrupt('stored checkpoint does not match the stored tree state');
    }
    const root = await treeHashFromTiles(st.size, this.readTiles);
    if (!bytesEqual(root, st.rootHash)) {
      throw corrupt(`root recomputed from tiles differs from the checkpoint at size ${st.size}`);
    }
    this.log.info({ size: st.size }, 'stored checkpoint verified against the tiles');
  }

  // ---- reads --------------------------------------------------------------------------------

  /** The checkpoint being served, or undefined before the first one is published. */
  checkpoint(): { size: number; note: Uint8Array } | undefined {
    return this.published;
  }

  /** Integrated tree size (what proofs and tiles can cover). */
  get treeSize(): number {
    return this.integratedSize;
  }

  private async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    return (await this.nodes.tileTree(level, index, this.integratedSize))?.base;
  }

  /**
   * A tile as the tlog-tiles API serves it: `width` hashes (256 for a full tile).
   * Resolves undefined when the tree has no such tile (yet).
   */
  async tile(level: number, index: number, width: number): Promise<Uint8Array | undefined> {
    const t = await this.readTile(level, index);
    if (t === undefined || t.length < width * 32) return undefined;
    return t.length === width * 32 ? t : t.subarray(0, width * 32);
  }

  /** An entry bundle of `width` entries starting at index·256, within the integrated tree. */
  async entryBundle(index: number, width: number): Promise<Uint8Array | undefined> {
    const start = index * TILE_WIDTH;
    if (start + width > this.integratedSize) return undefined;
    return this.storage.readEntryBundle(start, width);
  }

  /** One entry by index, within the sequenced log. */
  async entry(index: number): Promise<Uint8Array | undefined> {
    const [e] = await this.storage.readEntries(index, 1);
    return e;
  }

  /** Reads tiles through the cache of full tiles (full tiles never change). */
  private readTiles = async (ids: TileId[]): Promise<(Uint8Array | undefined)[]> =>
    Promise.all(ids.map((id) => this.readTile(id.level, id.index)));

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 1 || size > this.integratedSize) {
      throw new VPauseError('NOT_FOUND', `size ${size} is not a tree size this log has integrated`);
    }
  }

  /** Inclusion proof of `index` in the tree of `size`. @throws NOT_FOUND, MERKLE_RANGE */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    this.checkSize(size);
    return this.nodes.inclusionProof(index, size);
  }

  /**
   * The inclusion proof when it needs no storage read (./tree-nodes.ts inclusionProofNow),
   * else undefined. @throws NOT_FOUND, MERKLE_RANGE
   */
  inclusionProofNow(index: number, size: number): Uint8Array[] | undefined {
    this.checkSize(size);
    return this.nodes.inclusionProofNow(index, size);
  }

  /** Consistency proof from `oldSize` to `size`. @throws NOT_FOUND, MERKLE_RANGE */
  async consistencyProof(oldSize: number, size: number): Promise<Uint8Array[]> {
    this.checkSize(size);
    return this.nodes.consistencyProof(oldSize, size);
  }

  /**
   * A C2SP tlog-proof for `index` against the checkpoint being served.
   * @throws {VPauseError<'NOT_FOUND'>} when the entry is not yet covered by a served checkpoint
   */
  async receipt(index: number): Promise<string> {
    const cp = this.published;
    if (cp === undefined || !Number.isSafeInteger(index) || index < 0 || index >= cp.size) {
      throw new VPauseError(
        'NOT_FOUND',
        `index ${index} is not covered by the served checkpoint yet`,
      );
    }
    const hashes = await this.nodes.inclusionProof(index, cp.size);
    return formatTlogProof({ index, hashes, checkpoint: fromUtf8(cp.note) });
  }

  /** Verifies and returns whether the given leaf is in the sequenced log. */
  async findLeaf(leafHash: Uint8Array): Promise<number | undefined> {
    return this.storage.findLeafHash(leafHash);
  }
}

function corrupt(msg: string): VPauseError<'LOG_STATE_CORRUPT'> {
  return new VPauseError('LOG_STATE_CORRUPT', msg);
}

function asVPauseError(e: unknown): VPauseError {
  return e instanceof VPauseError ? e : new VPauseError('INTERNAL', 'internal error', { cause: e });
}
