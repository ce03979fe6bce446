/**
 * Following a log (DESIGN §6, check 2): through the C2SP tlog-tiles read API only, trusting
 * nothing it cannot check against a signed checkpoint.
 *
 * Each sync fetches the checkpoint, verifies the log's signature and the witnesses'
 * cosignatures against the policy, and then:
 * - a larger tree: reads the new entries from entry bundles, hashes them into the compact range
 *   of everything verified before (./compact-range.ts) and compares the fold with the signed
 *   root. A match proves at once that the entries are the log's and that the new checkpoint is
 *   consistent with every checkpoint seen before; the entries are then decoded and their
 *   signatures checked (./ingest.ts, worker threads for large runs) into the index;
 * - the same size: the root must be the same;
 * - a smaller tree (a stale view): an RFC 9162 consistency proof from the log's tiles must lead to
 *   both signed roots.
 * Any contradiction is turned into fork evidence (the monitor's vpause.fork-evidence/v1) when it
 * can be proven offline, and otherwise refused as a bad response. Every distinct checkpoint
 * observed is kept with its cosignatures: their witness timestamps are what timeliness rests on.
 * State (verified size, compact range, checkpoints, forks, optionally entries) persists in a
 * store between runs (./store.ts).
 */
import type { Logger } from 'pino';
import { canHttpGet, type GetResponse, httpGet } from '../client/http-get.js';
import { TlogClient } from '../client/tlog-client.js';
import { bytesEqual, toBase64 } from '../core/bytes.js';
import { isVPauseError, VPauseError } from '../core/errors.js';
import { emptyRoot, hashLeaf, verifyInclusion } from '../merkle/rfc9162.js';
import {
  consistencyProofFromTiles,
  entriesPath,
  nodeFromTiles,
  parseEntryBundle,
  TILE_WIDTH,
} from '../merkle/tiles.js';
import {
  FORK_EVIDENCE_TYPE,
  type ForkEvidence,
  isPowerOfTwo,
  rootsFromConsistencyProof,
} from '../monitor/evidence.js';
import type { VerifierKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from '../tlog/checkpoint.js';
import { silentLogger } from '../util/logger.js';
import { CompactRange } from './compact-range.js';
import { VerifierError } from './errors.js';
import {
  BundleFetchError,
  createIngestor,
  entriesOf,
  type IngestedBatch,
  type IngestInput,
  type Ingestor,
} from './ingest.js';
import { LogIndex, type StatementRecord, type UndecodableEntry } from './log-index.js';
import { MemoryStore, SqliteStore, type StoredCheckpoint, type VerifierStore } from './store.js';
import { type ObservedCheckpoint, observeCheckpoint, WitnessTimeline } from './timeline.js';

export interface FollowerConfig {
  policy: VPausePolicy;
  /** the log's tlog-tiles URL prefix */
  logUrl: string;
  /** cache directory (SQLite state per log key); without it, state lives in memory */
  cacheDir?: string;
  /** keep entries in the cache (default true with a cache dir) */
  keepEntries?: boolean;
  /** or a store factory, given the log key the policy matched */
  store?: (logKey: VerifierKey) => VerifierStore;
  fetch?: typeof fetch;
  /** clock, ms since the epoch (when checkpoints were seen) */
  now?: () => number;
  /** worker threads for decoding and signature checks (default: one per core; 0: none) */
  threads?: number;
  /** entry bundles fetched ahead (default 8) */
  concurrency?: number;
  logger?: Logger;
}

export interface SyncReport {
  size: number;
  newEntries: number;
  checkpoint: ObservedCheckpoint;
  /** fork evidence found in this sync */
  fork?: ForkEvidence;
  /**
   * New entries' signature outcomes that were read as valid while their checks were deferred and
   * came out invalid (0 when none; absent when no entries were added). Only a `speculate` callback
   * ever reads them before that: a read it made stands only when this is 0.
   */
  revised?: number;
}

export interface SyncOptions {
  /**
   * Called once when a sync adds entries: after every new entry is read, hashed into the tree and
   * matched with the signed root, and indexed, while the signatures of the last of them may still
   * be being checked on worker threads, whose outcomes read as valid until then (the checks of
   * usage reports and meter readings are deferred). Whatever the callback concludes from the
   * index stands only when the report's `revised` is 0; otherwise the records now read the
   * outcomes found, and it must be concluded again. The sync then waits for the checks. The
   * index then holds entries whose outcomes are not final: use it only with a follower nothing
   * else reads.
   */
  speculate?: () => void;
}

/** Bundles read ahead of their signature checks (each holds ~150 KiB of PAE and signatures). */
const UNCHECKED_AHEAD = 64;

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A log followed incrementally: verified state, the statements index and the checkpoints seen. */
export class LogFollower {
  readonly index = new LogIndex();
  private readonly f: typeof fetch;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly base: string;
  private logKey: VerifierKey | undefined;
  private client: TlogClient | undefined;
  private store: VerifierStore | undefined;
  private range = new CompactRange();
  private observed: { obs: ObservedCheckpoint; seenAt: number }[] = [];
  private readonly notes = new Set<string>();
  private readonly forkDocs: ForkEvidence[] = [];
  private readonly knownKeys = new Set<string>();
  private cachedTimeline: WitnessTimeline | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  /** why a speculative sync failed after indexing: the follower is not used further */
  private broken: unknown;

  constructor(private readonly cfg: FollowerConfig) {
    this.f = cfg.fetch ?? fetch;
    this.now = cfg.now ?? Date.now;
    this.log = cfg.logger ?? silentLogger();
    this.base = cfg.logUrl.replace(/\/+$/, '');
    for (const l of cfg.policy.labs) this.knownKeys.add(l.key.vkey);
    for (const m of cfg.policy.meters) this.knownKeys.add(m.key.vkey);
  }

  /** The verified size (entries indexed). */
  get size(): number {
    return this.range.size;
  }

  /** Every checkpoint observed, oldest first. */
  get checkpoints(): ObservedCheckpoint[] {
    return this.observed.map((o) => o.obs);
  }

  /** Fork evidence held against the log. */
  get forks(): readonly ForkEvidence[] {
    return this.forkDocs;
  }

  /** The log key the policy matched (after the first sync). */
  get key(): VerifierKey | undefined {
    return this.logKey;
  }

  /** The witnessed times of the entries, over the checkpoints observed. */
  timeline(): WitnessTimeline {
    this.cachedTimeline ??= new WitnessTimeline(this.cfg.policy.tlog, this.checkpoints);
    return this.cachedTimeline;
  }

  /**
   * The checkpoint verdicts rely on: of the checkpoints at the verified size, the last one seen
   * with quorum, else the last one seen.
   */
  anchor(): ObservedCheckpoint | undefined {
    const atSize = this.observed.filter((o) => o.obs.size === this.range.size);
    const q = atSize.filter((o) => o.obs.quorum);
    return (q[q.length - 1] ?? atSize[atSize.length - 1])?.obs;
  }

  /**
   * Fetches the log's checkpoint and brings the index up to it. Serialised: concurrent calls run
   * one after the other.
   * @throws {VPauseError} LOG_UNREACHABLE, LOG_BAD_RESPONSE (the log serves data that does not
   *   match its own checkpoint and proves no fork), the note and checkpoint codes of a checkpoint
   *   that does not verify, POLICY_NO_LOG, SYNC_STATE_INVALID
   */
  sync(opts: SyncOptions = {}): Promise<SyncReport> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    const run = this.busy.then(() => this.syncOnce(opts));
    this.busy = run.catch(() => {});
    return run;
  }

  private async fetchText(path: string): Promise<Uint8Array> {
    const url = `${this.base}/${path}`;
    if (this.cfg.fetch === undefined && canHttpGet(url)) {
      // Bulk reads through a lighter client than fetch (./../client/http-get.ts); a redirect is
      // left to fetch.
      let g: GetResponse;
      try {
        g = await httpGet(url);
      } catch (cause) {
        throw new VPauseError(
          'LOG_UNREACHABLE',
          `cannot reach ${this.base}: ${(cause as Error).message}`,
          { cause },
        );
      }
      if (g.status < 300 || g.status >= 400) {
        if (g.status < 200 || g.status >= 300) {
          throw new VPauseError('LOG_BAD_RESPONSE', `GET ${path}: HTTP ${g.status}`);
        }
        return g.body;
      }
    }
    let r: Response;
    try {
      r = await this.f(url);
    } catch (cause) {
      throw new VPauseError(
        'LOG_UNREACHABLE',
        `cannot reach ${this.base}: ${(cause as Error).message}`,
        { cause },
      );
    }
    if (!r.ok) {
      await r.body?.cancel();
      throw new VPauseError('LOG_BAD_RESPONSE', `GET ${path}: HTTP ${r.status}`);
    }
    return new Uint8Array(await r.arrayBuffer());
  }

  /** The policy log key that verifies `note`. */
  private pickKey(note: string): VerifierKey {
    let origin: string;
    try {
      origin = parseCheckpoint(parseNote(note).text).origin;
    } catch (e) {
      throw new VPauseError(
        'LOG_BAD_RESPONSE',
        `the log serves no checkpoint: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const logs = this.cfg.policy.tlog.logs.filter((l) => l.key.name === origin);
    logs.sort(
      (x, y) =>
        Number(y.url?.replace(/\/+$/, '') === this.base) -
        Number(x.url?.replace(/\/+$/, '') === this.base),
    );
    let last: unknown;
    for (const l of logs) {
      try {
        openCheckpoint(note, l.key);
        return l.key;
      } catch (e) {
        last = e;
      }
    }
    throw new VerifierError(
      'POLICY_NO_LOG',
      `no log key of the policy verifies the checkpoint of ${JSON.stringify(origin)}${last ? `: ${(last as Error).message}` : ''}`,
    );
  }

  private async open(note: string): Promise<void> {
    const key = this.pickKey(note);
    this.logKey = key;
    this.client = new TlogClient({
      url: this.base,
      logKey: key,
      witnesses: [...this.cfg.policy.tlog.witnesses.values()].map((w) => w.key),
      fetch: this.f,
    });
    this.store =
      this.cfg.store?.(key) ??
      (this.cfg.cacheDir !== undefined
        ? new SqliteStore(this.cfg.cacheDir, key.vkey, {
            keepEntries: this.cfg.keepEntries ?? true,
          })
        : new MemoryStore(key.vkey, { keepEntries: this.cfg.keepEntries ?? false }));
    const st = this.store.load();
    if (st === undefined) return;
    let range: CompactRange;
    try {
      range = new CompactRange(st.size, st.roots);
    } catch (e) {
      throw new VerifierError('SYNC_STATE_INVALID', `cache: ${(e as Error).message}`);
    }
    for (const c of st.checkpoints) {
      try {
        this.remember(observeCheckpoint(c.note, this.cfg.policy.tlog, key), c.seenAt);
      } catch {
        // a checkpoint the current policy cannot open (changed keys): not evidence any more
      }
    }
    for (const f of st.forks) this.forkDocs.push(f as ForkEvidence);
    // Rebuild the index of [0, size): from the cache, or from the log, checked against the
    // compact range verified before.
    const rebuilt = new CompactRange();
    const ingested = await this.ingestRange(0, st.size, st.size, rebuilt, st.entries >= st.size);
    await ingested.checked;
    const records = ingested.records;
    if (st.size > 0 && !bytesEqual(rebuilt.root()!, range.root()!)) {
      throw new VerifierError(
        'SYNC_STATE_INVALID',
        st.entries >= st.size
          ? 'the cached entries do not give the cached tree head'
          : `the log's entries [0, ${st.size}) do not give the tree head verified before`,
      );
    }
    for (const r of records) this.index.add(r);
    this.range = range;
    if (this.store.keepsEntries && st.entries < st.size && this.pendingEntries !== undefined) {
      this.store.commit({
        size: st.size,
        roots: st.roots,
        entries: { start: 0, data: this.pendingEntries },
      });
    }
    this.pendingEntries = undefined;
  }

  private remember(obs: ObservedCheckpoint, seenAt: number): boolean {
    if (this.notes.has(obs.note)) return false;
    this.notes.add(obs.note);
    this.observed.push({ obs, seenAt });
    this.cachedTimeline = undefined;
    return true;
  }

  /** The latest observed note at the verified size. */
  private verifiedNote(): ObservedCheckpoint | undefined {
    const atSize = this.observed.filter((o) => o.obs.size === this.range.size);
    return atSize[atSize.length - 1]?.obs;
  }

  private async syncOnce(opts: SyncOptions): Promise<SyncReport> {
    const text = new TextDecoder().decode(await this.fetchText('checkpoint'));
    if (this.logKey === undefined) await this.open(text);
    const key = this.logKey!;
    const obs = observeCheckpoint(text, this.cfg.policy.tlog, key);
    const seenAt = Math.floor(this.now() / 1000);
    const verified = this.range.size;
    const prev = this.verifiedNote();
    const report: SyncReport = { size: verified, newEntries: 0, checkpoint: obs };
    const commitCheckpoint = (extra: { fork?: ForkEvidence } = {}) => {
      const fresh = this.remember(obs, seenAt);
      const cps: StoredCheckpoint[] = fresh ? [{ note: obs.note, size: obs.size, seenAt }] : [];
      if (extra.fork !== undefined) this.forkDocs.push(extra.fork);
      this.store!.commit({
        size: this.range.size,
        roots: this.range.hashes,
        checkpoints: cps,
        ...(extra.fork ? { forks: [extra.fork] } : {}),
      });
    };

    if (this.forkDocs.length > 0) {
      // A log caught signing two histories is not followed further; keep what was verified.
      this.log.warn({ size: obs.size }, 'log has signed inconsistent checkpoints; not advancing');
      return report;
    }

    if (obs.size === verified) {
      const root = verified === 0 ? emptyRoot() : this.range.root()!;
      if (!bytesEqual(root, obs.rootHash)) {
        const fork = this.forkEvidence(
          'same-size',
          prev,
          obs,
          `two roots for tree size ${verified}`,
        );
        if (fork === undefined)
          throw this.badResponse(
            `checkpoint of size ${verified} has a root other than the entries give`,
          );
        commitCheckpoint({ fork });
        report.fork = fork;
        return report;
      }
      commitCheckpoint();
      return report;
    }

    if (obs.size < verified) {
      // A stale view: it must be a prefix of what was verified.
      const large = prev!;
      const fork = await this.compare(obs, large);
      if (fork !== undefined) {
        commitCheckpoint({ fork });
        report.fork = fork;
        return report;
      }
      commitCheckpoint();
      return report;
    }

    // A larger tree: read, hash, fold, compare.
    const next = this.range.clone();
    const { records, checked } = await this.ingestRange(verified, obs.size, obs.size, next, false);
    const root = next.root() ?? emptyRoot();
    if (!bytesEqual(root, obs.rootHash)) {
      const fork = prev === undefined ? undefined : await this.compare(prev, obs);
      if (fork === undefined) {
        throw this.badResponse(
          `the entries [${verified}, ${obs.size}) do not give the root signed at size ${obs.size}`,
        );
      }
      commitCheckpoint({ fork });
      report.fork = fork;
      return report;
    }
    const adopt = (): boolean => {
      for (const r of records) this.index.add(r);
      this.range = next;
      return this.remember(obs, seenAt);
    };
    let fresh: boolean;
    if (opts.speculate !== undefined) {
      // Indexed before the last checks are made, for the caller's speculative read; a failure
      // from here on leaves this follower unusable.
      fresh = adopt();
      try {
        opts.speculate();
        report.revised = await checked;
      } catch (e) {
        this.broken = e;
        throw e;
      }
    } else {
      report.revised = await checked;
      fresh = adopt();
    }
    const kept = this.store!.keepsEntries
      ? await this.entriesFromRecords(verified, obs.size)
      : undefined;
    this.store!.commit({
      size: next.size,
      roots: next.hashes,
      checkpoints: fresh ? [{ note: obs.note, size: obs.size, seenAt }] : [],
      ...(kept ? { entries: { start: verified, data: kept } } : {}),
    });
    this.pendingEntries = undefined;
    report.size = next.size;
    report.newEntries = obs.size - verified;
    this.log.info({ size: next.size, new: report.newEntries, quorum: obs.quorum }, 'log synced');
    return report;
  }

  private badResponse(msg: string): VPauseError {
    return new VPauseError('LOG_BAD_RESPONSE', msg);
  }

  /** Entries fetched in this sync, kept for the store. */
  private pendingEntries: Uint8Array[] | undefined;

  private async entriesFromRecords(start: number, end: number): Promise<Uint8Array[]> {
    return this.pendingEntries ?? (await this.fetchEntries(start, end, end));
  }

  /**
   * Reads entries [start, end) of the tree of `treeSize`, from the cache or the log, hashes them
   * into `range` and decodes them. The caller compares the range with a signed root before
   * trusting the records.
   *
   * Worker threads answer each bundle as soon as it is read, the signature checks of its usage
   * reports and meter readings still to come (./ingest.ts, `defer`): the records are returned
   * once every bundle is read, and `checked` settles once every check is made, with the number of
   * outcomes that came out invalid (until then those outcomes read as valid). Up to
   * `UNCHECKED_AHEAD` bundles are read ahead of their checks.
   */
  private async ingestRange(
    start: number,
    end: number,
    treeSize: number,
    range: CompactRange,
    fromCache: boolean,
  ): Promise<{ records: (StatementRecord | UndecodableEntry)[]; checked: Promise<number> }> {
    if (end <= start) return { records: [], checked: Promise.resolve(0) };
    const keep = this.store?.keepsEntries === true && !fromCache;
    const keptEntries: Uint8Array[] = [];
    const ingestor: Ingestor = createIngestor([...this.knownKeys], end - start, this.cfg.threads, {
      defer: true,
    });
    const out: (StatementRecord | UndecodableEntry)[] = [];
    const checks: Promise<number>[] = [];
    let unchecked = 0;
    try {
      const first = Math.floor(start / TILE_WIDTH);
      const last = Math.floor((end - 1) / TILE_WIDTH);
      const ahead = Math.max(1, this.cfg.concurrency ?? 8);
      // Up to `ahead` bundles fetched and decoding at once, whichever finish first; results are
      // consumed in log order, with at most 64 bundles buffered.
      const results = new Map<number, Promise<IngestedBatch>>();
      let nextLaunch = first;
      let active = 0;
      let consumed = first;
      const work = async (n: number): Promise<IngestedBatch> => {
        const lo = Math.max(start, n * TILE_WIDTH);
        const hi = Math.min(end, (n + 1) * TILE_WIDTH);
        let input: IngestInput;
        if (fromCache) {
          const entries = this.store!.readEntries(lo, hi);
          if (entries.length !== hi - lo)
            throw this.badResponse(`cached entries [${lo}, ${hi}) incomplete`);
          input = { start: lo, entries };
        } else {
          const width = Math.min(TILE_WIDTH, treeSize - n * TILE_WIDTH);
          const path = entriesPath(n, width);
          const url = `${this.base}/${path}`;
          if (
            !keep &&
            ingestor.fetchAndProcess !== undefined &&
            this.cfg.fetch === undefined &&
            canHttpGet(url)
          ) {
            // The ingestor's threads read the bundle themselves (a redirect comes back here).
            const run = { start: lo, width, skip: lo - n * TILE_WIDTH, count: hi - lo };
            try {
              return await ingestor.fetchAndProcess(url, run);
            } catch (e) {
              if (e instanceof BundleFetchError) {
                if (e.kind === 'network') {
                  throw new VPauseError(
                    'LOG_UNREACHABLE',
                    `cannot reach ${this.base}: ${e.message}`,
                    { cause: e },
                  );
                }
                if (e.kind === 'status') {
                  throw new VPauseError('LOG_BAD_RESPONSE', `GET ${path}: HTTP ${e.status}`);
                }
              } else if ((e as { code?: string }).code === 'ENTRY_BUNDLE_MALFORMED') {
                throw this.badResponse(`entry bundle ${n}: ${(e as Error).message}`);
              } else {
                throw e;
              }
            }
          }
          const data = await this.fetchText(path);
          input = { start: lo, bundle: data, width, skip: lo - n * TILE_WIDTH, count: hi - lo };
          if (keep) {
            entriesOf(input).forEach((e, i) => {
              keptEntries[lo - start + i] = e;
            });
          }
        }
        try {
          return await ingestor.process(input);
        } catch (e) {
          if ((e as { code?: string }).code === 'ENTRY_BUNDLE_MALFORMED') {
            throw this.badResponse(`entry bundle ${n}: ${(e as Error).message}`);
          }
          throw e;
        }
      };
      const pump = () => {
        // One bundle first: the keys of the registrations it holds (usually at the start of a
        // log) then reach every worker before the rest is spread over them.
        const limit = consumed === first && start === 0 ? 1 : ahead;
        while (
          active < limit &&
          unchecked < UNCHECKED_AHEAD &&
          nextLaunch <= last &&
          nextLaunch - consumed < 2 * UNCHECKED_AHEAD
        ) {
          const n = nextLaunch++;
          active++;
          const p = work(n)
            .then((b) => {
              if (b.checked !== undefined) {
                unchecked++;
                const done = () => {
                  unchecked--;
                  pump();
                };
                b.checked.then(done, done);
              }
              return b;
            })
            .finally(() => {
              active--;
              pump();
            });
          p.catch(() => {}); // awaited in order below
          results.set(n, p);
          wake?.();
        }
      };
      // Set while the next bundle in order waits for checks to make room for its launch.
      let wake: (() => void) | undefined;
      for (; consumed <= last; consumed++) {
        pump();
        while (!results.has(consumed)) {
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
        }
        const b = await results.get(consumed)!;
        results.delete(consumed);
        if (b.subtree !== undefined && range.size % TILE_WIDTH === 0)
          range.appendSubtree(b.subtree, 8);
        else for (let i = 0; i < b.count; i++) range.append(b.leaf.subarray(i * 32, i * 32 + 32));
        for (const r of b.records) out.push(r);
        if (b.checked !== undefined) checks.push(b.checked);
        for (const v of b.newKeys) {
          if (!this.knownKeys.has(v)) {
            this.knownKeys.add(v);
            ingestor.addKeys([v]);
          }
        }
      }
    } catch (e) {
      await ingestor.close();
      throw e;
    }
    if (keep) this.pendingEntries = keptEntries;
    const checked = Promise.all(checks)
      .then((n) => n.reduce((a, b) => a + b, 0))
      .finally(() => ingestor.close());
    // Awaited by the caller; a failure before that must not be unhandled.
    checked.catch(() => {});
    return { records: out, checked };
  }

  /** Entries [lo, hi) from bundle `n` of the tree of `treeSize`. */
  private async fetchBundle(
    n: number,
    treeSize: number,
    lo: number,
    hi: number,
  ): Promise<Uint8Array[]> {
    const width = Math.min(TILE_WIDTH, treeSize - n * TILE_WIDTH);
    const data = await this.fetchText(entriesPath(n, width));
    let entries: Uint8Array[];
    try {
      entries = parseEntryBundle(data, width);
    } catch (e) {
      throw this.badResponse(`entry bundle ${n}: ${(e as Error).message}`);
    }
    return entries.slice(lo - n * TILE_WIDTH, hi - n * TILE_WIDTH);
  }

  /** Entries [start, end) from the log (tree of `treeSize`), unchecked (callers check). */
  private async fetchEntries(start: number, end: number, treeSize: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
      out.push(
        ...(await this.fetchBundle(
          n,
          treeSize,
          Math.max(start, n * TILE_WIDTH),
          Math.min(end, (n + 1) * TILE_WIDTH),
        )),
      );
    }
    return out;
  }

  /**
   * The entries of these records, from the cache or the log, each checked against its record's
   * leaf hash.
   * @throws {VPauseError} LOG_BAD_RESPONSE when the log serves other bytes
   */
  async entriesOf(
    records: readonly { index: number; leafHash: string }[],
  ): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    const want = [...records].sort((a, b) => a.index - b.index);
    const byBundle = new Map<number, { index: number; leafHash: string }[]>();
    for (const r of want) {
      const n = Math.floor(r.index / TILE_WIDTH);
      byBundle.set(n, [...(byBundle.get(n) ?? []), r]);
    }
    for (const [n, rs] of byBundle) {
      const lo = n * TILE_WIDTH;
      const hi = Math.min(this.range.size, lo + TILE_WIDTH);
      const cached = this.store!.keepsEntries ? this.store!.readEntries(lo, hi) : [];
      const entries =
        cached.length === hi - lo ? cached : await this.fetchBundle(n, this.range.size, lo, hi);
      for (const r of rs) {
        const e = entries[r.index - lo];
        if (e === undefined || Buffer.from(hashLeaf(e)).toString('hex') !== r.leafHash) {
          throw this.badResponse(`entry ${r.index} does not match its leaf hash`);
        }
        out.set(r.index, e);
      }
    }
    return out;
  }

  /**
   * An inclusion proof of `index` in the tree of the checkpoint `cp`, from the log's tiles,
   * verified before it is returned.
   * @throws {VPauseError} LOG_BAD_RESPONSE when the tiles give no valid proof
   */
  async inclusionProof(
    index: number,
    leafHash: Uint8Array,
    cp: ObservedCheckpoint,
  ): Promise<Uint8Array[]> {
    const proof = await this.client!.inclusionProof(index, cp.size);
    try {
      verifyInclusion(leafHash, index, cp.size, proof, cp.rootHash);
    } catch (e) {
      throw this.badResponse(
        `no valid inclusion proof for entry ${index}: ${(e as Error).message}`,
      );
    }
    return proof;
  }

  /**
   * A consistency proof from `a` to `b` (a.size ≤ b.size), from the log's tiles, verified.
   * @throws {VPauseError} LOG_BAD_RESPONSE, or PROOF_INVALID / LOG_INCONSISTENT
   */
  async consistencyProof(a: ObservedCheckpoint, b: ObservedCheckpoint): Promise<Uint8Array[]> {
    return this.client!.verifyConsistent(asCheckpoint(a), asCheckpoint(b));
  }

  /** Fork evidence for a contradicting pair, or undefined when it cannot be proven offline. */
  private forkEvidence(
    kind: ForkEvidence['kind'],
    a: ObservedCheckpoint | undefined,
    b: ObservedCheckpoint,
    reason: string,
    extra: Partial<ForkEvidence> = {},
  ): ForkEvidence | undefined {
    if (a === undefined) return undefined;
    return {
      type: FORK_EVIDENCE_TYPE,
      kind,
      origin: b.origin,
      logKey: this.logKey!.vkey,
      detectedAt: rfc3339(this.now()),
      reason,
      a: { source: `log ${this.base}`, checkpoint: a.note },
      b: { source: `log ${this.base}`, checkpoint: b.note },
      ...extra,
    };
  }

  /**
   * Checks that `small` is a prefix of `large` with a consistency path from `large`'s tiles.
   * Returns fork evidence when the path leads to `large`'s root but not to `small`'s, undefined
   * when they are consistent.
   * @throws {VPauseError} LOG_BAD_RESPONSE when the tiles give no path to `large`'s root
   */
  private async compare(
    x: ObservedCheckpoint,
    y: ObservedCheckpoint,
  ): Promise<ForkEvidence | undefined> {
    const [small, large] = x.size <= y.size ? [x, y] : [y, x];
    if (small.size === large.size) {
      if (bytesEqual(small.rootHash, large.rootHash)) return undefined;
      return this.forkEvidence('same-size', small, large, `two roots for tree size ${small.size}`);
    }
    if (small.size === 0) {
      if (bytesEqual(small.rootHash, emptyRoot())) return undefined;
      return this.forkEvidence('inconsistent', small, large, 'size 0 signed with a non-empty root');
    }
    let proof: Uint8Array[];
    let node: Uint8Array | undefined;
    try {
      const tiles = this.client!.tiles(large.size);
      proof = await consistencyProofFromTiles(small.size, large.size, tiles);
      if (isPowerOfTwo(small.size)) node = await nodeFromTiles(Math.log2(small.size), 0, tiles);
    } catch (e) {
      if (isVPauseError(e) && (e.code === 'LOG_UNREACHABLE' || e.code === 'LOG_BAD_RESPONSE'))
        throw e;
      throw this.badResponse(
        `no consistency proof ${small.size} → ${large.size}: ${(e as Error).message}`,
      );
    }
    const roots = rootsFromConsistencyProof(small.size, large.size, proof, node);
    if (!bytesEqual(roots.newRoot, large.rootHash)) {
      throw this.badResponse(`the log's tiles at size ${large.size} do not give its signed root`);
    }
    if (bytesEqual(roots.oldRoot, small.rootHash)) return undefined;
    return this.forkEvidence(
      'inconsistent',
      small,
      large,
      `the tree signed at size ${large.size} has root ${toBase64(roots.oldRoot)} at size ${small.size}, but the log also signed ${toBase64(small.rootHash)}`,
      { proof: proof.map(toBase64), ...(node !== undefined ? { oldRootInB: toBase64(node) } : {}) },
    );
  }

  close(): void {
    this.store?.close();
  }
}

function asCheckpoint(c: ObservedCheckpoint): Checkpoint {
  return { origin: c.origin, size: c.size, rootHash: c.rootHash, extensions: [] };
}
