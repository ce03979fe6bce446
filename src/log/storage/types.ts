/**
 * Storage for the shared log, split by the guarantee each part needs (after Sunlight/Tessera):
 *
 * - {@link SequenceStore}: durable, atomic, deduplicating assignment of indexes. `sequence()`
 *   resolves only once every new entry of the batch is durably stored; a crash at any moment
 *   leaves either the whole batch or none of it. Duplicates (same leaf hash) resolve to the
 *   original index. Claims (chain, seq) are unique: a different entry with a claim that is
 *   already taken is refused as a conflict, and nothing of it is stored.
 * - {@link TreeStore}: the integrated tree (tiles) and the latest signed checkpoint, advanced
 *   only by compare-and-swap on the integrated size, so two sequencers can never both win.
 * - {@link LeaseStore}: the sequencer lease, so exactly one process integrates and signs.
 * - Registered node keys, updated in the same transaction as the registration entry is
 *   sequenced, so admission of later usage statements sees exactly what the log holds.
 *
 * Every driver (memory, SQLite, PostgreSQL) passes tests/log/storage-conformance.
 * Sizes and indexes are non-negative safe integers.
 */

/** A registration's effect on the set of admitted node keys. */
export interface KeyEvent {
  /** `name+hexid` of the node key (the DSSE keyid form). */
  keyId: string;
  /** The node's vkey, as registered. */
  vkey: string;
  lab: string;
  facility: string;
  cluster: string;
  node: string;
  action: 'add' | 'revoke';
  /** RFC 3339 time from the registration statement. */
  time: string;
}

/** A registered node key as the log knows it. */
export interface NodeKeyRecord {
  keyId: string;
  vkey: string;
  lab: string;
  facility: string;
  cluster: string;
  node: string;
  /** Index of the registration entry that added it. */
  addedAt: number;
  /** `time` of the revocation, when revoked. */
  revokedTime?: string;
  /** Index of the revocation entry, when revoked. */
  revokedAt?: number;
}

export interface SequenceItem {
  /** RFC 9162 leaf hash of `data`. */
  leafHash: Uint8Array;
  /** The log entry: the JCS encoding of the DSSE envelope, at most 65,535 bytes. */
  data: Uint8Array;
  /** (chain, seq) may be sequenced once; e.g. chain = `usage/<lab>/<facility>/<cluster>/<node>`. */
  claim?: { chain: string; seq: number };
  /** Applied to the node-key table atomically with sequencing. */
  keyEvent?: KeyEvent;
}

export type SequenceResult =
  | { status: 'new'; index: number }
  | { status: 'duplicate'; index: number }
  /** The claim is held by another entry, at `index`; nothing was stored. */
  | { status: 'conflict'; index: number };

export interface SequenceStore {
  /**
   * Durably assigns consecutive indexes to the new items of the batch, in order.
   * Items that duplicate each other within the batch resolve to the first one's index.
   */
  sequence(items: readonly SequenceItem[]): Promise<SequenceResult[]>;
  /** Number of sequenced entries (the next index to assign). */
  sequencedSize(): Promise<number>;
  /** Entries [start, start+count) that are sequenced; fewer when past the end. */
  readEntries(start: number, count: number): Promise<Uint8Array[]>;
  /**
   * Entries [start, start+count) as a tlog-tiles entry bundle (each entry after its length as a
   * big-endian uint16), for 1 ≤ count ≤ 256; undefined unless all of them are sequenced. The
   * bytes are `encodeEntryBundle(await readEntries(start, count))`, made in one piece where the
   * driver can (the log serves entry bundles from this).
   */
  readEntryBundle(start: number, count: number): Promise<Uint8Array | undefined>;
  /** Leaf hashes of entries [start, start+count); fewer when past the end. */
  readLeafHashes(start: number, count: number): Promise<Uint8Array[]>;
  /** Index of the entry with this leaf hash, if sequenced. */
  findLeafHash(leafHash: Uint8Array): Promise<number | undefined>;
  /** The node key with this keyId, if ever registered. */
  getNodeKey(keyId: string): Promise<NodeKeyRecord | undefined>;
}

/** Identifies a tile of the integrated tree: level L (tile height 8), index N. */
export interface TileId {
  level: number;
  index: number;
}

/** A tile as stored: the concatenated 32-byte hashes, 1..256 of them (the widest seen). */
export interface StoredTile extends TileId {
  data: Uint8Array;
}

export interface TreeState {
  /** Integrated tree size (entries [0, size) are in the tiles). */
  size: number;
  /** Root hash of the integrated tree (the empty-tree hash at size 0). */
  rootHash: Uint8Array;
  /** The latest signed checkpoint (signed-note text, UTF-8), if any was signed. */
  checkpoint?: Uint8Array;
}

export interface TreeStore {
  treeState(): Promise<TreeState>;
  /** Reads stored tiles; an absent tile reads as undefined. */
  readTiles(ids: readonly TileId[]): Promise<(Uint8Array | undefined)[]>;
  /**
   * Atomically writes the tiles and the new state, if and only if the stored integrated size
   * is still `oldSize`. Resolves false (and writes nothing) when it is not.
   */
  commitIntegration(
    oldSize: number,
    next: TreeState & { checkpoint: Uint8Array },
    tiles: readonly StoredTile[],
  ): Promise<boolean>;
  /**
   * Persists the checkpoint the log serves (with its witness cosignatures, when witnessed), so
   * every front end and a restarted log serve it without asking the witnesses again. Stored only
   * when `size` is at least the stored one's (at an equal size the note is replaced, so later
   * cosignatures can be added). Resolves true when stored.
   */
  setPublished(size: number, note: Uint8Array): Promise<boolean>;
  /** The stored published checkpoint, if any. */
  published(): Promise<{ size: number; note: Uint8Array } | undefined>;
}

export interface LeaseStore {
  /**
   * Takes or renews the sequencer lease for `owner` for `ttlMs`. Resolves true while `owner`
   * holds it. A lease not renewed within its ttl can be taken by another owner.
   */
  acquireLease(owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(owner: string): Promise<void>;
}

export interface LogStorage extends SequenceStore, TreeStore, LeaseStore {
  /** Human-readable driver name for logs and metrics: memory | sqlite | postgres. */
  readonly driver: string;
  close(): Promise<void>;
}
