/**
 * The log's read path for tree nodes: the tiles it serves and the complete-subtree hashes its
 * proofs are built from, through three caches (full tiles never change; right-edge tiles are
 * valid for one tree size; level-0 tile summaries, ./tile-tree.ts).
 *
 * A proof is built in two passes so that serving one costs at most one storage round trip and
 * no per-node promises: the first pass resolves every node it can from memory and lists the
 * tile rows it lacks, one `readTiles` call fetches them, and the second pass computes the proof
 * synchronously. A full level-0 tile that is not in memory is not read whole into the cache (at
 * 10M entries they are 320 MB): nodes at sub-levels 4..7 come from its 960-byte summary, those
 * below from its base hashes, read for this proof only.
 *
 * With a proof index (./proof-index.ts), an inclusion proof through a full level-0 tile skips
 * storage: the leaf's block of the index gives the 8 siblings inside the tile, the cached
 * level-1 tile checks the block's tile root, and the hashes above come from cached tiles (or,
 * for a complete level-1 tile, from the upper part kept per tree size).
 */
import { LRUCache } from 'lru-cache';
import { bytesEqual } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import {
  consistencyProofNodes,
  hashProofElement,
  inclusionProofNodes,
  type ProofElement,
  rootFromLeafHashes,
} from '../merkle/rfc9162.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import { blockNode, blockOf, type ProofIndex } from './proof-index.js';
import type { LogStorage, TileId } from './storage/types.js';
import { SUMMARY_FROM, SUMMARY_LEVEL, summaryNode, TileTree } from './tile-tree.js';

export interface TreeNodesOptions {
  /** full tiles kept with their subtree hashes (~16 KiB each; default 2,048) */
  fullTiles?: number;
  /** level-0 tile summaries kept (960 bytes each; default 16,384) */
  summaries?: number;
  /**
   * Records of the full level-0 tiles' subtrees (./proof-index.ts): inclusion proofs through a
   * tile it holds read one 2 KiB block instead of the database.
   */
  index?: ProofIndex;
}

/** Row key of a tile in the caches and the per-proof map (levels < 128, index < 2^45). */
function rowKey(level: number, index: number): number {
  return index * 128 + level;
}

function missing(level: number, index: number): VPauseError<'NOT_FOUND'> {
  return new VPauseError('NOT_FOUND', `node ${level}/${index} is not in the stored tree`);
}

export class TreeNodes {
  private readonly full: LRUCache<number, TileTree>;
  private readonly summaries: LRUCache<number, Uint8Array>;
  /** Right-edge tiles, per tree size (proofs at a few sizes interleave: current and older). */
  private readonly edges = new LRUCache<number, Map<number, TileTree>>({ max: 8 });
  /** Proof hashes above level 16, per tree size, by level-1 tile (./throughFullTiles). */
  private readonly upper = new LRUCache<number, Map<number, Uint8Array[]>>({ max: 8 });
  /** Hashes of multi-subtree proof elements at the right edge, per tree size, by start. */
  private readonly edgeHashes = new LRUCache<number, Map<number, Uint8Array>>({ max: 8 });

  private readonly index: ProofIndex | undefined;

  constructor(
    private readonly storage: Pick<LogStorage, 'readTiles'>,
    opts: TreeNodesOptions = {},
  ) {
    this.index = opts.index;
    this.full = new LRUCache({ max: opts.fullTiles ?? 2048 });
    this.summaries = new LRUCache({ max: opts.summaries ?? 16_384 });
  }

  /**
   * A stored tile of the tree of `size` leaves with its subtree hashes, through the caches;
   * undefined when storage has no such tile.
   */
  async tileTree(level: number, index: number, size: number): Promise<TileTree | undefined> {
    const hit = this.cached(level, index, size);
    if (hit !== undefined) return hit;
    const [t] = await this.storage.readTiles([{ level, index }]);
    return t === undefined ? undefined : this.keep(level, index, size, t);
  }

  /** Forgets every cached tile (another process may have rewritten storage). */
  clear(): void {
    this.upper.clear();
    this.edgeHashes.clear();
    this.full.clear();
    this.summaries.clear();
    this.edges.clear();
  }

  /**
   * Inclusion proof of `index` in the tree of `size` leaves (`size` ≤ the integrated size).
   * @throws {MerkleError} MERKLE_RANGE; {VPauseError} NOT_FOUND when storage lacks a tile
   */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    const tile = Math.floor(index / TILE_WIDTH);
    if (this.indexed(tile, size)) {
      // The block's tile root is checked against the level-1 tile: read that one first.
      const up = Math.floor(tile / TILE_WIDTH);
      if (this.cached(1, up, size) === undefined) await this.tileTree(1, up, size);
      const fast = this.inclusionProofNow(index, size);
      if (fast !== undefined) return fast;
    }
    return this.build(inclusionProofNodes(index, size), size);
  }

  /**
   * The inclusion proof when it can be built without waiting for storage: through a full tile
   * of the proof index whose level-1 tile is in memory. Undefined otherwise (then use
   * inclusionProof). Lets the HTTP route answer synchronously, which @hono/node-server writes
   * on a shorter path than a promised response.
   * @throws {MerkleError} MERKLE_RANGE
   */
  inclusionProofNow(index: number, size: number): Uint8Array[] | undefined {
    const tile = Math.floor(index / TILE_WIDTH);
    if (!this.indexed(tile, size)) return undefined;
    const up = Math.floor(tile / TILE_WIDTH);
    if ((up + 1) * TILE_WIDTH * TILE_WIDTH <= size) {
      const fast = this.throughFullTiles(index, size);
      if (fast !== undefined) return fast;
    }
    return this.fromIndex(inclusionProofNodes(index, size), index, size);
  }

  /**
   * The proof of a leaf whose level-1 tile is complete at `size`: its first 16 hashes are the
   * siblings on its path inside that tile's 65,536 leaves (8 from the index block, 8 from the
   * level-1 tile), and the rest is the same for every leaf of the level-1 tile, so it is kept
   * per size and level-1 tile (at 10M entries, 153 of them). Undefined where fromIndex would
   * be, and the first time for each level-1 tile (which fromIndex then answers).
   */
  private throughFullTiles(index: number, size: number): Uint8Array[] | undefined {
    const tile = Math.floor(index / TILE_WIDTH);
    const offset = index - tile * TILE_WIDTH;
    const up = Math.floor(tile / TILE_WIDTH);
    const t1 = tile - up * TILE_WIDTH;
    let tops = this.upper.get(size);
    const top = tops?.get(up);
    const l1 = this.cached(1, up, size);
    if (top === undefined || l1 === undefined) {
      const full = this.fromIndex(inclusionProofNodes(index, size), index, size);
      if (full === undefined || full.length < 2 * TILE_HEIGHT) return full;
      if (tops === undefined) {
        tops = new Map();
        this.upper.set(size, tops);
      }
      tops.set(up, full.slice(2 * TILE_HEIGHT));
      return full;
    }
    const rec = this.index!.read(tile, offset);
    if (rec === undefined) return undefined;
    const block = blockOf(offset);
    if (!bytesEqual(blockNode(rec, block, TILE_HEIGHT, 0)!, l1.node(0, t1)!)) {
      this.index!.markDamaged(tile);
      return undefined;
    }
    const out: Uint8Array[] = new Array(2 * TILE_HEIGHT + top.length);
    for (let r = 0; r < TILE_HEIGHT; r++) {
      out[r] = blockNode(rec, block, r, (offset >>> r) ^ 1)!.slice();
      out[TILE_HEIGHT + r] = l1.node(r, (t1 >>> r) ^ 1)!;
    }
    for (let k = 0; k < top.length; k++) out[2 * TILE_HEIGHT + k] = top[k]!;
    return out;
  }

  private indexed(tile: number, size: number): boolean {
    return this.index !== undefined && tile < this.index.covered && (tile + 1) * TILE_WIDTH <= size;
  }

  /**
   * Consistency proof from `oldSize` to `size` (`size` ≤ the integrated size).
   * @throws {MerkleError} MERKLE_RANGE; {VPauseError} NOT_FOUND when storage lacks a tile
   */
  consistencyProof(oldSize: number, size: number): Promise<Uint8Array[]> {
    if (oldSize === size) return Promise.resolve([]);
    return this.build(consistencyProofNodes(oldSize, size), size);
  }

  /**
   * The proof from the proof index's block that holds leaf `index` and the cached tiles above
   * its tile, or undefined when the block is missing, fails its check or does not match the
   * database's level-1 tile, or a node lies in a tile that is not in memory (the caller then
   * builds the proof from storage).
   */
  private fromIndex(plan: ProofElement[], index: number, size: number): Uint8Array[] | undefined {
    const tile = Math.floor(index / TILE_WIDTH);
    const offset = index - tile * TILE_WIDTH;
    const root = this.cached(1, Math.floor(tile / TILE_WIDTH), size)?.node(0, tile % TILE_WIDTH);
    if (root === undefined) return undefined;
    const rec = this.index!.read(tile, offset);
    if (rec === undefined) return undefined;
    const block = blockOf(offset);
    if (!bytesEqual(blockNode(rec, block, TILE_HEIGHT, 0)!, root)) {
      this.index!.markDamaged(tile);
      return undefined;
    }
    const out: Uint8Array[] = [];
    // Consecutive nodes mostly lie in the same tile: look each tile up once.
    let lastLevel = -1;
    let lastIndex = -1;
    let lastTree: TileTree | undefined;
    for (const el of plan) {
      const hs: Uint8Array[] = [];
      for (const n of el.nodes) {
        const tileLevel = Math.floor(n.level / TILE_HEIGHT);
        const r = n.level - tileLevel * TILE_HEIGHT;
        const first = n.index * 2 ** r;
        const tileIndex = Math.floor(first / TILE_WIDTH);
        const j = (first - tileIndex * TILE_WIDTH) / 2 ** r;
        let h: Uint8Array | undefined;
        if (tileLevel === 0 && tileIndex === tile) {
          h = blockNode(rec, block, r, j)?.slice();
        } else {
          if (tileLevel !== lastLevel || tileIndex !== lastIndex) {
            lastLevel = tileLevel;
            lastIndex = tileIndex;
            lastTree = this.cached(tileLevel, tileIndex, size);
          }
          h = lastTree?.node(r, j);
        }
        if (h === undefined) return undefined;
        hs.push(h);
      }
      out.push(hs.length === 1 ? hs[0]! : this.edgeElement(el, hs, size));
    }
    return out;
  }

  /**
   * The hash of a proof element made of several subtrees: a range that ends at the tree's right
   * edge, the same for every proof at this size, so it is hashed once per size (at 10M entries
   * up to 7 hashes, a third of a proof's cost).
   */
  private edgeElement(el: ProofElement, hs: Uint8Array[], size: number): Uint8Array {
    if (el.end !== size) return hashProofElement(el, hs);
    let m = this.edgeHashes.get(size);
    if (m === undefined) {
      m = new Map();
      this.edgeHashes.set(size, m);
    }
    let h = m.get(el.start);
    if (h === undefined) {
      h = hashProofElement(el, hs);
      m.set(el.start, h);
    }
    return h;
  }

  private cached(level: number, index: number, size: number): TileTree | undefined {
    const key = rowKey(level, index);
    const hit = this.full.get(key);
    if (hit !== undefined) return hit;
    return this.edges.get(size)?.get(key);
  }

  private keep(level: number, index: number, size: number, data: Uint8Array): TileTree {
    const tree = new TileTree(data);
    if (data.length === TILE_WIDTH * 32) {
      this.full.set(rowKey(level, index), tree);
    } else {
      let m = this.edges.get(size);
      if (m === undefined) {
        m = new Map();
        this.edges.set(size, m);
      }
      m.set(rowKey(level, index), tree);
    }
    return tree;
  }

  private async build(plan: ProofElement[], size: number): Promise<Uint8Array[]> {
    // Rows read for this proof; null: read, and storage has no such row.
    const rows = new Map<number, Uint8Array | null>();
    const got: (Uint8Array | undefined)[][] = plan.map((el) => el.nodes.map(() => undefined));
    // Resolve from memory, read what is missing, resolve the rest: one read, or two when a
    // level-0 tile has no stored summary and its base hashes are needed instead.
    for (let round = 0; ; round++) {
      const want = new Map<number, TileId>();
      for (let e = 0; e < plan.length; e++) {
        const nodes = plan[e]!.nodes;
        for (let k = 0; k < nodes.length; k++) {
          if (got[e]![k] !== undefined) continue;
          const n = nodes[k]!;
          const h = this.locate(n.level, n.index, size, rows);
          if (h instanceof Uint8Array) got[e]![k] = h;
          else if (h === undefined || round === 2) throw missing(n.level, n.index);
          else want.set(rowKey(h.level, h.index), h);
        }
      }
      if (want.size === 0) break;
      const ids = [...want.values()];
      const read = await this.storage.readTiles(ids);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const t = read[i];
        rows.set(rowKey(id.level, id.index), t ?? null);
        if (t === undefined) continue;
        if (id.level === SUMMARY_LEVEL) this.summaries.set(id.index, t);
        else if (id.level !== 0 || t.length !== TILE_WIDTH * 32)
          this.keep(id.level, id.index, size, t);
      }
    }
    return plan.map((el, e) => hashProofElement(el, got[e] as Uint8Array[]));
  }

  /**
   * The hash of complete subtree (level, index) of the tree of `size` from memory or `rows`;
   * otherwise the tile row to read, or undefined when storage has been asked and lacks it.
   */
  private locate(
    level: number,
    index: number,
    size: number,
    rows: Map<number, Uint8Array | null>,
  ): Uint8Array | TileId | undefined {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const r = level - tileLevel * TILE_HEIGHT;
    const first = index * 2 ** r;
    const tileIndex = Math.floor(first / TILE_WIDTH);
    const j = (first - tileIndex * TILE_WIDTH) / 2 ** r;
    const tree = this.cached(tileLevel, tileIndex, size);
    if (tree !== undefined) return tree.node(r, j);
    if (tileLevel > 0) {
      // Read tiles above level 0 are kept in the caches; one that is still not there is absent.
      return rows.has(rowKey(tileLevel, tileIndex))
        ? undefined
        : { level: tileLevel, index: tileIndex };
    }
    if ((tileIndex + 1) * TILE_WIDTH <= size && r >= SUMMARY_FROM) {
      // A full level-0 tile: sub-levels 4..7 from its summary.
      const read = rows.get(rowKey(SUMMARY_LEVEL, tileIndex));
      const sum = this.summaries.get(tileIndex) ?? read;
      if (sum === undefined) return { level: SUMMARY_LEVEL, index: tileIndex };
      if (sum !== null) {
        const h = summaryNode(sum, r, j);
        if (h !== undefined) return h;
      }
      // No summary stored for this tile: fall back to its base hashes.
    }
    // From the base hashes: of a full tile not in memory, or of a tile that is partial at this
    // size but has filled up in storage since (a proof at an older size).
    const base = rows.get(rowKey(0, tileIndex));
    if (base === undefined) return { level: 0, index: tileIndex };
    const off = first - tileIndex * TILE_WIDTH;
    const width = 2 ** r;
    if (base === null || (off + width) * 32 > base.length) return undefined;
    if (r === 0) return base.slice(off * 32, off * 32 + 32);
    const hs: Uint8Array[] = [];
    for (let i = 0; i < width; i++) hs.push(base.subarray((off + i) * 32, (off + i + 1) * 32));
    return rootFromLeafHashes(hs);
  }
}
