/**
 * The subtree hashes inside one tile, computed once: level r (0..8) holds the hashes of the
 * complete 2^r-wide subtrees of the tile's base hashes. A proof over a big tree then costs a
 * lookup per node instead of rehashing up to 128 hashes per node, which is what lets the log
 * serve inclusion proofs at close to the rate of its HTTP stack.
 */
import { hashChildren } from '../merkle/rfc9162.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import type { StoredTile } from './storage/types.js';

export class TileTree {
  /** levels[r]: the complete subtree hashes at sub-level r, concatenated. */
  private readonly levels: Uint8Array[];

  constructor(readonly base: Uint8Array) {
    const levels = [base];
    let cur = base;
    for (let r = 1; r <= TILE_HEIGHT; r++) {
      const n = Math.floor(cur.length / 64);
      if (n === 0) break;
      const next = new Uint8Array(n * 32);
      for (let i = 0; i < n; i++) {
        next.set(
          hashChildren(cur.subarray(i * 64, i * 64 + 32), cur.subarray(i * 64 + 32, i * 64 + 64)),
          i * 32,
        );
      }
      levels.push(next);
      cur = next;
    }
    this.levels = levels;
  }

  /** Width of the tile (number of base hashes). */
  get width(): number {
    return this.base.length / 32;
  }

  /** Bytes held (for cache sizing). */
  get bytes(): number {
    return this.levels.reduce((a, l) => a + l.length, 0);
  }

  /** Hash of the complete subtree at sub-level r, index j within the tile; undefined if absent. */
  node(r: number, j: number): Uint8Array | undefined {
    const l = this.levels[r];
    if (l === undefined || (j + 1) * 32 > l.length) return undefined;
    return l.subarray(j * 32, j * 32 + 32);
  }
}

/**
 * Where the log keeps the summaries of full level-0 tiles: the tiles table at this level, which
 * tlog-tiles never uses (its levels stop at 63), so they are never served as tiles.
 */
export const SUMMARY_LEVEL = 64;
/** Sub-levels a summary holds: 4..7, i.e. 16 + 8 + 4 + 2 = 30 hashes (960 bytes). */
export const SUMMARY_FROM = 4;

/** The subtree hashes of each full level-0 tile among `tiles`, with its index. */
export function fullTileTrees(tiles: readonly StoredTile[]): { index: number; tree: TileTree }[] {
  const out: { index: number; tree: TileTree }[] = [];
  for (const t of tiles) {
    if (t.level === 0 && t.data.length === TILE_WIDTH * 32) {
      out.push({ index: t.index, tree: new TileTree(t.data) });
    }
  }
  return out;
}

/**
 * Summaries of the full level-0 tiles among `tiles`: the subtree hashes at sub-levels 4..7.
 * With them, an inclusion proof through a level-0 tile that is not in memory costs one tile read
 * and at most 11 hashes (sub-levels 0..3 from the base hashes) instead of 255. `trees`: their
 * fullTileTrees, when the caller has them already (the log also writes its proof index from them).
 */
export function tileSummaries(
  tiles: readonly StoredTile[],
  trees = fullTileTrees(tiles),
): StoredTile[] {
  const out: StoredTile[] = [];
  for (const { index, tree } of trees) {
    const parts: Uint8Array[] = [];
    for (let r = SUMMARY_FROM; r <= TILE_HEIGHT - 1; r++) {
      for (let j = 0; j < TILE_WIDTH >> r; j++) parts.push(tree.node(r, j)!);
    }
    const data = new Uint8Array(parts.length * 32);
    for (const [i, p] of parts.entries()) data.set(p, i * 32);
    out.push({ level: SUMMARY_LEVEL, index, data });
  }
  return out;
}

/** Reads the hash at sub-level r (4..7), index j, from a summary's bytes. */
export function summaryNode(summary: Uint8Array, r: number, j: number): Uint8Array | undefined {
  let off = 0;
  for (let q = SUMMARY_FROM; q < r; q++) off += TILE_WIDTH >> q;
  if (r < SUMMARY_FROM || r > TILE_HEIGHT - 1 || j >= TILE_WIDTH >> r) return undefined;
  const at = (off + j) * 32;
  return at + 32 <= summary.length ? summary.subarray(at, at + 32) : undefined;
}
