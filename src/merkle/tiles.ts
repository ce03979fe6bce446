/**
 * C2SP tlog-tiles for vpause: tile paths, entry bundles, tree integration and reading nodes
 * and proofs back out of stored tiles. Tile height 8: the tile at level L, index N holds the
 * 256 hashes MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]) — tree level 8L — and the tree
 * levels between two tile levels are recomputed from the tile's hashes.
 *
 * Integration follows Tessera: a pure function of the old size, the new leaf hashes and a
 * "read these tiles" callback. It reads only the right edge of the old tree (at most one
 * partial tile per level) and returns every tile the batch touched, in its widest version, plus
 * the new root. Nothing else of the tree is held in memory.
 *
 * Pure: no I/O beyond the callbacks it is given.
 */
import type { StoredTile, TileId } from '../log/storage/types.js';
import { merkleError } from './errors.js';
import { checkHash, checkRange, HASH_BYTES } from './internal.js';
import {
  consistencyProofNodes,
  emptyRoot,
  hashChildren,
  hashProofElement,
  inclusionProofNodes,
  type NodeId,
  type NodeReader,
  type ProofElement,
} from './rfc9162.js';

export type { StoredTile, TileId } from '../log/storage/types.js';

/** Tree levels per tile. */
export const TILE_HEIGHT = 8;
/** Hashes (or entries) in a full tile (or entry bundle). */
export const TILE_WIDTH = 256;
/** Highest tile level tlog-tiles allows in a path. */
export const MAX_TILE_LEVEL = 63;
/** Largest entry an entry bundle can hold (uint16 length prefix). */
export const MAX_ENTRY_SIZE = 65_535;

const FULL_TILE_BYTES = TILE_WIDTH * HASH_BYTES;

/** A tile of a given tree, with the number of hashes it has there (1..256). */
export interface TileRef extends TileId {
  width: number;
}

/** What `parseTilePath` returns. `width` is 256 for a full tile; `level` is 0 for entries. */
export interface ParsedTilePath {
  level: number;
  index: number;
  width: number;
  entries: boolean;
}

/**
 * Reads stored tiles (the widest version of each); an absent tile reads as undefined.
 * `TreeStore.readTiles` fits.
 */
export type ReadTiles = (ids: TileId[]) => Promise<readonly (Uint8Array | undefined)[]>;

// ---------------------------------------------------------------------------------------------
// Paths

function checkWidth(width: number | undefined): number {
  const w = width ?? TILE_WIDTH;
  if (!Number.isInteger(w) || w < 1 || w > TILE_WIDTH) {
    throw merkleError('TILE_PATH_MALFORMED', 'tile width must be an integer in 1..256');
  }
  return w;
}

function encodeIndex(index: number): string {
  checkRange(index, 'tile index');
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width: number): string {
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/**
 * The tlog-tiles path of a Merkle tree tile, without prefix or leading slash:
 * `tile/<L>/<N>[.p/<W>]`, e.g. `tile/0/x001/234.p/5`. Width 256 (or none) is a full tile.
 * @throws {MerkleError} TILE_PATH_MALFORMED for a level outside 0..63 or a width outside
 *   1..256; MERKLE_RANGE for an index that is not a non-negative safe integer
 */
export function tilePath(tile: { level: number; index: number; width?: number }): string {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > MAX_TILE_LEVEL) {
    throw merkleError('TILE_PATH_MALFORMED', 'tile level must be an integer in 0..63');
  }
  const w = checkWidth(tile.width);
  return `tile/${tile.level}/${encodeIndex(tile.index)}${widthSuffix(w)}`;
}

/**
 * The tlog-tiles path of an entry bundle: `tile/entries/<N>[.p/<W>]`.
 * @throws {MerkleError} TILE_PATH_MALFORMED for a width outside 1..256; MERKLE_RANGE for an
 *   index that is not a non-negative safe integer
 */
export function entriesPath(index: number, width?: number): string {
  const w = checkWidth(width);
  return `tile/entries/${encodeIndex(index)}${widthSuffix(w)}`;
}

const TILE_PATH_RE =
  /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * Parses a tile or entry-bundle path in exactly the canonical form `tilePath` / `entriesPath`
 * write (no prefix, no leading slash). Refuses leading zeros in the level or width, a leading
 * all-zero index group (`x000/…`), width 0 or ≥ 256 after `.p/`, levels above 63 and indexes
 * beyond 2^53 − 1.
 * @throws {MerkleError} TILE_PATH_MALFORMED
 */
export function parseTilePath(path: string): ParsedTilePath {
  const m = typeof path === 'string' ? TILE_PATH_RE.exec(path) : null;
  if (m === null) throw merkleError('TILE_PATH_MALFORMED', 'not a canonical tile path');
  const [, levelText, indexText, widthText] = m;
  const entries = levelText === 'entries';
  const level = entries ? 0 : Number(levelText);
  if (level > MAX_TILE_LEVEL) throw merkleError('TILE_PATH_MALFORMED', 'tile level above 63');
  const groups = indexText!.split('/').map((g) => g.replace('x', ''));
  if (groups.length > 1 && groups[0] === '000') {
    throw merkleError('TILE_PATH_MALFORMED', 'tile index has a leading zero group');
  }
  if (groups.length > 6) throw merkleError('TILE_PATH_MALFORMED', 'tile index too large');
  const big = BigInt(groups.join(''));
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw merkleError('TILE_PATH_MALFORMED', 'tile index too large');
  }
  let width = TILE_WIDTH;
  if (widthText !== undefined) {
    width = Number(widthText);
    if (width >= TILE_WIDTH) throw merkleError('TILE_PATH_MALFORMED', 'partial width ≥ 256');
  }
  return { level, index: Number(big), width, entries };
}

// ---------------------------------------------------------------------------------------------
// Which tiles a tree has

/** Number of hashes at tile level L of a tree of `size` leaves: floor(size / 256^L). */
function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/**
 * Every tile of a tree of `size` leaves, level by level, with its width there (full tiles 256,
 * then at most one partial tile per level). A tree of 70,000 has 273 full and one 112-wide
 * level-0 tile, one full and one 17-wide level-1 tile and one 1-wide level-2 tile.
 * @throws {MerkleError} MERKLE_RANGE when size is not a non-negative safe integer
 */
export function tilesForSize(size: number): TileRef[] {
  checkRange(size, 'size');
  const out: TileRef[] = [];
  for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
    const count = hashesAtLevel(size, level);
    const full = Math.floor(count / TILE_WIDTH);
    for (let index = 0; index < full; index++) out.push({ level, index, width: TILE_WIDTH });
    if (count % TILE_WIDTH > 0) out.push({ level, index: full, width: count % TILE_WIDTH });
  }
  return out;
}

/**
 * The partial tiles of a tree of `size` leaves (its right edge): at most one per level. These
 * and the root are all `integrate` reads.
 * @throws {MerkleError} MERKLE_RANGE when size is not a non-negative safe integer
 */
export function partialTilesForSize(size: number): TileRef[] {
  checkRange(size, 'size');
  const out: TileRef[] = [];
  for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
    const count = hashesAtLevel(size, level);
    const width = count % TILE_WIDTH;
    if (width > 0) out.push({ level, index: Math.floor(count / TILE_WIDTH), width });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entry bundles

/**
 * Encodes an entry bundle: each entry as a big-endian uint16 length followed by its bytes.
 * @throws {MerkleError} ENTRY_TOO_LARGE for an entry over 65,535 bytes;
 *   ENTRY_BUNDLE_MALFORMED for no entries or more than 256
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length === 0 || entries.length > TILE_WIDTH) {
    throw merkleError('ENTRY_BUNDLE_MALFORMED', 'an entry bundle holds 1..256 entries');
  }
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE) {
      throw merkleError('ENTRY_TOO_LARGE', `log entries are at most ${MAX_ENTRY_SIZE} bytes`);
    }
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const e of entries) {
    out[o] = e.length >>> 8;
    out[o + 1] = e.length & 0xff;
    out.set(e, o + 2);
    o += 2 + e.length;
  }
  return out;
}

/**
 * Parses an entry bundle into its entries (copies; views of `data` with `views`). Refuses an
 * empty bundle, a truncated length or entry, and more than 256 entries; with `expectedCount`,
 * any other count.
 * @throws {MerkleError} ENTRY_BUNDLE_MALFORMED
 */
export function parseEntryBundle(
  data: Uint8Array,
  expectedCount?: number,
  opts: { views?: boolean } = {},
): Uint8Array[] {
  if (!(data instanceof Uint8Array) || data.length === 0) {
    throw merkleError('ENTRY_BUNDLE_MALFORMED', 'an entry bundle is not empty');
  }
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < data.length) {
    if (out.length === TILE_WIDTH) {
      throw merkleError('ENTRY_BUNDLE_MALFORMED', 'more than 256 entries in a bundle');
    }
    if (o + 2 > data.length) throw merkleError('ENTRY_BUNDLE_MALFORMED', 'truncated length');
    const len = (data[o]! << 8) | data[o + 1]!;
    if (o + 2 + len > data.length) throw merkleError('ENTRY_BUNDLE_MALFORMED', 'truncated entry');
    out.push(
      opts.views === true ? data.subarray(o + 2, o + 2 + len) : data.slice(o + 2, o + 2 + len),
    );
    o += 2 + len;
  }
  if (expectedCount !== undefined && out.length !== expectedCount) {
    throw merkleError(
      'ENTRY_BUNDLE_MALFORMED',
      `expected ${expectedCount} entries, found ${out.length}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading tiles

function tileKey(level: number, index: number): string {
  return `${level}/${index}`;
}

/** Splits a stored tile into its hashes, checking it has at least `width`. */
function tileHashes(data: Uint8Array | undefined, id: TileId, width: number): Uint8Array[] {
  if (data === undefined) {
    throw merkleError('TILE_MISSING', `tile ${id.level}/${id.index} is not stored`);
  }
  if (data.length % HASH_BYTES !== 0 || data.length > FULL_TILE_BYTES || data.length === 0) {
    throw merkleError('TILE_MALFORMED', `tile ${id.level}/${id.index} has ${data.length} bytes`);
  }
  if (data.length < width * HASH_BYTES) {
    throw merkleError(
      'TILE_MISSING',
      `tile ${id.level}/${id.index} has ${data.length / HASH_BYTES} hashes, ${width} needed`,
    );
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) out.push(data.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES));
  return out;
}

async function readTileSet(
  wanted: readonly TileRef[],
  readTiles: ReadTiles,
): Promise<Map<string, Uint8Array[]>> {
  // One read per tile, for the widest width asked of it.
  const widest = new Map<string, TileRef>();
  for (const t of wanted) {
    const k = tileKey(t.level, t.index);
    const prev = widest.get(k);
    if (prev === undefined || prev.width < t.width) widest.set(k, t);
  }
  const refs = [...widest.values()];
  const ids: TileId[] = refs.map((t) => ({ level: t.level, index: t.index }));
  const data = ids.length === 0 ? [] : await readTiles(ids);
  if (data.length !== ids.length) {
    throw merkleError('TILE_MISSING', 'readTiles returned the wrong number of tiles');
  }
  const out = new Map<string, Uint8Array[]>();
  refs.forEach((t, i) => {
    out.set(tileKey(t.level, t.index), tileHashes(data[i], t, t.width));
  });
  return out;
}

/** Root of a perfect subtree given its 2^h leaves (hashes). */
function perfectRoot(hashes: readonly Uint8Array[]): Uint8Array {
  let level = hashes as Uint8Array[];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/** Where the hashes of a complete node sit: which tile, from which position, how many. */
function nodeLocation(node: NodeId): { tile: TileRef; offset: number; count: number } {
  const tileLevel = Math.floor(node.level / TILE_HEIGHT);
  const count = 2 ** (node.level % TILE_HEIGHT);
  const first = node.index * count;
  const index = Math.floor(first / TILE_WIDTH);
  const offset = first % TILE_WIDTH;
  return { tile: { level: tileLevel, index, width: offset + count }, offset, count };
}

function nodeHashFrom(tiles: Map<string, Uint8Array[]>, node: NodeId): Uint8Array {
  const { tile, offset, count } = nodeLocation(node);
  const hashes = tiles.get(tileKey(tile.level, tile.index))!;
  return perfectRoot(hashes.slice(offset, offset + count));
}

function checkNode(level: number, index: number): NodeId {
  checkRange(level, 'level');
  checkRange(index, 'index');
  if (level > MAX_TILE_LEVEL) throw merkleError('MERKLE_RANGE', 'node level above 63');
  return { level, index };
}

/**
 * The hash of the complete subtree (level, index) — the 2^level leaves from index·2^level —
 * read from the tiles: one tile at tile level ⌊level/8⌋, with the levels inside it recomputed.
 * The caller asks only for nodes that are complete in the stored tree.
 * @throws {MerkleError} TILE_MISSING when the tile is absent or too narrow; TILE_MALFORMED for
 *   a stored tile that is not whole hashes; MERKLE_RANGE for a bad level or index
 */
export async function nodeFromTiles(
  level: number,
  index: number,
  readTiles: ReadTiles,
): Promise<Uint8Array> {
  const node = checkNode(level, index);
  const tiles = await readTileSet([nodeLocation(node).tile], readTiles);
  return nodeHashFrom(tiles, node);
}

/**
 * A `NodeReader` over stored tiles, for `buildInclusionProof` / `buildConsistencyProof`. Each
 * tile is read once per reader (concurrent requests share the read); make a fresh reader per
 * request so that it never outlives the tree state it was made for.
 */
export function tileNodeReader(readTiles: ReadTiles): NodeReader {
  const cache = new Map<string, Promise<Uint8Array | undefined>>();
  const read = (id: TileId): Promise<Uint8Array | undefined> => {
    const k = tileKey(id.level, id.index);
    let p = cache.get(k);
    if (p === undefined) {
      p = readTiles([id]).then((r) => r[0]);
      cache.set(k, p);
    }
    return p;
  };
  return async (level, index) => {
    const node = checkNode(level, index);
    const { tile, offset, count } = nodeLocation(node);
    const hashes = tileHashes(await read(tile), tile, tile.width);
    return perfectRoot(hashes.slice(offset, offset + count));
  };
}

async function proofFromTiles(plan: ProofElement[], readTiles: ReadTiles): Promise<Uint8Array[]> {
  const tiles = await readTileSet(
    plan.flatMap((el) => el.nodes.map((n) => nodeLocation(n).tile)),
    readTiles,
  );
  return plan.map((el) =>
    hashProofElement(
      el,
      el.nodes.map((n) => nodeHashFrom(tiles, n)),
    ),
  );
}

/**
 * The inclusion proof for `index` in the tree of `size` leaves, read from stored tiles in one
 * `readTiles` call.
 * @throws {MerkleError} MERKLE_RANGE when index ≥ size; TILE_MISSING / TILE_MALFORMED as
 *   `nodeFromTiles`
 */
export async function inclusionProofFromTiles(
  index: number,
  size: number,
  readTiles: ReadTiles,
): Promise<Uint8Array[]> {
  return proofFromTiles(inclusionProofNodes(index, size), readTiles);
}

/**
 * The consistency proof from `oldSize` to `newSize`, read from stored tiles in one
 * `readTiles` call.
 * @throws {MerkleError} MERKLE_RANGE when oldSize = 0 or oldSize > newSize; TILE_MISSING /
 *   TILE_MALFORMED as `nodeFromTiles`
 */
export async function consistencyProofFromTiles(
  oldSize: number,
  newSize: number,
  readTiles: ReadTiles,
): Promise<Uint8Array[]> {
  return proofFromTiles(consistencyProofNodes(oldSize, newSize), readTiles);
}

// ---------------------------------------------------------------------------------------------
// Root of a tree from its right edge

/**
 * The root from the right edge: `edge[L]` holds the hashes of the partial tile at level L.
 * Each partial tile splits into perfect subtrees by the binary digits of its width; the root
 * is the right fold of all of them, largest (highest level) first.
 */
function rootFromEdge(edge: readonly (readonly Uint8Array[])[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let level = edge.length - 1; level >= 0; level--) {
    const hashes = edge[level]!;
    let offset = 0;
    for (let size = TILE_WIDTH / 2; size >= 1; size /= 2) {
      if ((hashes.length & size) !== 0) {
        parts.push(perfectRoot(hashes.slice(offset, offset + size)));
        offset += size;
      }
    }
  }
  if (parts.length === 0) return emptyRoot();
  let acc = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) acc = hashChildren(parts[i]!, acc);
  return acc;
}

/** Number of tile levels with at least one hash in a tree of `size` leaves. */
function tileLevels(size: number): number {
  let level = 0;
  while (hashesAtLevel(size, level) > 0) level++;
  return level;
}

/** Reads the right edge of the tree: for each tile level, the hashes of its partial tile. */
async function readEdge(size: number, readTiles: ReadTiles): Promise<Uint8Array[][]> {
  const partial = partialTilesForSize(size);
  const tiles = await readTileSet(partial, readTiles);
  const edge: Uint8Array[][] = Array.from({ length: tileLevels(size) }, () => []);
  for (const t of partial) edge[t.level] = tiles.get(tileKey(t.level, t.index))!;
  return edge;
}

/**
 * The root hash of the tree of `size` leaves, from its partial tiles (one per level at most).
 * @throws {MerkleError} MERKLE_RANGE for a bad size; TILE_MISSING / TILE_MALFORMED when a
 *   partial tile is absent, too narrow or not whole hashes
 */
export async function treeHashFromTiles(size: number, readTiles: ReadTiles): Promise<Uint8Array> {
  checkRange(size, 'size');
  return rootFromEdge(await readEdge(size, readTiles));
}

// ---------------------------------------------------------------------------------------------
// Integration

/** What `integrate` returns. */
export interface IntegrationResult {
  /** The new tree size. */
  size: number;
  /** The new root hash. */
  rootHash: Uint8Array;
  /**
   * Every tile the batch changed, once, in its widest version (full tiles have 256 hashes),
   * sorted by level then index. Store each over any narrower stored version.
   */
  tiles: StoredTile[];
}

/**
 * Appends a batch of leaf hashes to the tree of `oldSize` leaves whose tiles `readTiles`
 * reads, and returns the new size, the new root and the new or grown tiles. Reads only the
 * old tree's partial tiles (one `readTiles` call, skipped for an empty tree), so memory is
 * bounded by the batch. The same leaves give the same tiles and root whatever the batch split.
 * An empty batch returns the old root and no tiles.
 * @throws {MerkleError} MERKLE_RANGE when a size is not a non-negative safe integer;
 *   PROOF_MALFORMED when a leaf hash is not 32 bytes; TILE_MISSING / TILE_MALFORMED when an
 *   old partial tile is absent, too narrow or not whole hashes
 */
export async function integrate(
  oldSize: number,
  newLeafHashes: readonly Uint8Array[],
  readTiles: ReadTiles,
): Promise<IntegrationResult> {
  checkRange(oldSize, 'oldSize');
  const size = checkRange(oldSize + newLeafHashes.length, 'new size');
  for (const [i, h] of newLeafHashes.entries()) checkHash(h, `newLeafHashes[${i}]`);

  const edge = await readEdge(oldSize, readTiles);
  // The tile index at each level that the edge hashes belong to.
  const tileIndex = edge.map((_, level) => Math.floor(hashesAtLevel(oldSize, level) / TILE_WIDTH));
  const touched = new Map<string, StoredTile>();
  const emit = (level: number): void => {
    const hashes = edge[level]!;
    const data = new Uint8Array(hashes.length * HASH_BYTES);
    for (const [i, h] of hashes.entries()) data.set(h, i * HASH_BYTES);
    touched.set(tileKey(level, tileIndex[level]!), { level, index: tileIndex[level]!, data });
  };
  const dirty = new Set<number>();

  const append = (level: number, hash: Uint8Array): void => {
    if (edge.length === level) {
      edge.push([]);
      tileIndex.push(0);
    }
    const hashes = edge[level]!;
    hashes.push(hash);
    dirty.add(level);
    if (hashes.length === TILE_WIDTH) {
      // The tile is full: write it out, carry its root up one tile level, start the next.
      emit(level);
      dirty.delete(level);
      edge[level] = [];
      tileIndex[level] = tileIndex[level]! + 1;
      append(level + 1, perfectRoot(hashes));
    }
  };
  for (const h of newLeafHashes) append(0, h);
  for (const level of dirty) emit(level);

  const tiles = [...touched.values()].sort((a, b) => a.level - b.level || a.index - b.index);
  return { size, rootHash: rootFromEdge(edge), tiles };
}
