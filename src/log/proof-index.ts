/**
 * The proof index: a file beside the log's database that holds, for every full level-0 tile,
 * the whole subtree inside the tile (its 256 leaf hashes and the 255 hashes above them, up to
 * the tile's root), laid out so that an inclusion proof through the tile reads one 2 KiB block
 * and hashes nothing. The database costs an index descent, a table descent and two overflow
 * pages for the tile (~25 µs on the bench machine) plus one more row for its summary. At 10M
 * entries the file is 1.25 GB: kept in the operating system's page cache and read per proof,
 * not held in the process (the RSS target of issue #3).
 *
 * The file is derived data, never the source of truth. It is written after the database has
 * committed the tiles (src/log/service.ts fills it from stored tiles), never fsynced, and every
 * block is checked when it is read: a CRC-32 over its hashes, tile index and block number, and
 * by the caller the tile root it holds against the level-1 tile from the database. A block that
 * was never written, torn, lost in a power failure, or copied from another log fails a check;
 * the proof is then built from the database as before and the tile is queued for rewriting.
 *
 * Tile t is 16 blocks of 2 KiB at byte t × 32 KiB. Block b holds the 16 leaf hashes
 * b·16 … b·16+15 and the 14 hashes above them at sub-levels 1..3 (the siblings a proof needs
 * below sub-level 4), then the tile's 31 hashes at sub-levels 4..8 (the same in every block),
 * then the tile index (uint64 LE), the block number (uint32 LE), the magic "VPI2" and the CRC-32
 * (LE) of everything before it; the rest is zero.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import { TileTree } from './tile-tree.js';

/** Sub-levels 0..3 live in the blocks (16 leaves each), 4..8 in every block's top part. */
const LOW = 4;
const BLOCK_LEAVES = 1 << LOW; // 16
const BLOCKS = TILE_WIDTH / BLOCK_LEAVES; // 16
/** Bytes of one block, and of one tile's record. */
export const PROOF_BLOCK_BYTES = 2048;
export const PROOF_RECORD_BYTES = BLOCKS * PROOF_BLOCK_BYTES;
const LOW_HASHES = 2 * BLOCK_LEAVES - 2; // 30: sub-levels 0..3 of the block
const TOP_HASHES = 2 * BLOCKS - 1; // 31: sub-levels 4..8 of the tile
const INDEX_AT = (LOW_HASHES + TOP_HASHES) * 32; // 1,952
const BLOCK_AT = INDEX_AT + 8;
const MAGIC_AT = BLOCK_AT + 4;
const CRC_AT = MAGIC_AT + 4;
const MAGIC = 0x32495056; // "VPI2" read as uint32 LE

/** Hash offset within a block of sub-level r (0..3: of the block; 4..8: of the tile's top). */
function levelAt(r: number): number {
  return r < LOW
    ? 2 * BLOCK_LEAVES - (2 * BLOCK_LEAVES) / 2 ** r
    : LOW_HASHES + 2 * BLOCKS - (2 * BLOCKS) / 2 ** (r - LOW);
}

/** The block of a tile that holds leaf `offset` (0..255) and the siblings above it. */
export function blockOf(offset: number): number {
  return offset >>> LOW;
}

/**
 * The hash at sub-level r (0..8), index j within the tile, from block `block`'s bytes (a view:
 * copy it before the next read of the index); undefined when the block does not hold it
 * (sub-levels 0..3 of another block).
 */
export function blockNode(
  bytes: Uint8Array,
  block: number,
  r: number,
  j: number,
): Uint8Array | undefined {
  let k = j;
  if (r < LOW) {
    const per = BLOCK_LEAVES >> r;
    if (Math.floor(j / per) !== block) return undefined;
    k = j - block * per;
  }
  const at = (levelAt(r) + k) * 32;
  return bytes.subarray(at, at + 32);
}

/**
 * Fills `rec` (PROOF_RECORD_BYTES) with the 16 blocks of full level-0 tile `tile`, given its
 * 256 leaf hashes or their TileTree. Pure.
 */
export function encodeProofRecord(
  tile: number,
  tileHashes: Uint8Array | TileTree,
  rec: Uint8Array,
): void {
  const tree = tileHashes instanceof TileTree ? tileHashes : new TileTree(tileHashes);
  if (tree.width !== TILE_WIDTH) {
    throw new RangeError(`a proof record needs a full tile, got ${tree.width} hashes`);
  }
  if (!Number.isSafeInteger(tile) || tile < 0) throw new RangeError(`bad tile index ${tile}`);
  rec.fill(0);
  for (let b = 0; b < BLOCKS; b++) {
    const blk = rec.subarray(b * PROOF_BLOCK_BYTES, (b + 1) * PROOF_BLOCK_BYTES);
    for (let r = 0; r <= TILE_HEIGHT; r++) {
      if (r < LOW) {
        const per = BLOCK_LEAVES >> r;
        for (let k = 0; k < per; k++) blk.set(tree.node(r, b * per + k)!, (levelAt(r) + k) * 32);
      } else {
        for (let j = 0; j < TILE_WIDTH >> r; j++) blk.set(tree.node(r, j)!, (levelAt(r) + j) * 32);
      }
    }
    const dv = new DataView(blk.buffer, blk.byteOffset, blk.byteLength);
    dv.setUint32(INDEX_AT, tile % 2 ** 32, true);
    dv.setUint32(INDEX_AT + 4, Math.floor(tile / 2 ** 32), true);
    dv.setUint32(BLOCK_AT, b, true);
    dv.setUint32(MAGIC_AT, MAGIC, true);
    dv.setUint32(CRC_AT, crc32(blk.subarray(0, CRC_AT)), true);
  }
}

/** Whether `bytes` is an intact block `block` of tile `tile`. Pure. */
export function checkProofBlock(tile: number, block: number, bytes: Uint8Array): boolean {
  if (bytes.length !== PROOF_BLOCK_BYTES) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (
    dv.getUint32(MAGIC_AT, true) === MAGIC &&
    dv.getUint32(INDEX_AT, true) === tile % 2 ** 32 &&
    dv.getUint32(INDEX_AT + 4, true) === Math.floor(tile / 2 ** 32) &&
    dv.getUint32(BLOCK_AT, true) === block &&
    dv.getUint32(CRC_AT, true) === crc32(bytes.subarray(0, CRC_AT))
  );
}

export class ProofIndex {
  private readonly scratch = new Uint8Array(PROOF_BLOCK_BYTES);
  private readonly damaged = new Set<number>();
  private coveredTiles: number;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    // Records are appended in order, so the written prefix ends at the last intact record; a
    // tail lost or torn by a crash is walked back over (and rewritten by the next catch-up).
    let n = Math.floor(fstatSync(fd).size / PROOF_RECORD_BYTES);
    while (n > 0 && !this.intact(n - 1)) n--;
    this.coveredTiles = n;
  }

  /** Opens (or creates) the index file at `path`. */
  static open(path: string): ProofIndex {
    // Not 'a+': Linux ignores the position of writes to a file opened for appending.
    return new ProofIndex(path, openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644));
  }

  /** Number of leading full level-0 tiles whose records have been written. */
  get covered(): number {
    return this.coveredTiles;
  }

  /**
   * The block of full level-0 tile `tile` that holds leaf `offset` (0..255), or undefined when
   * it is not written or fails its check (the tile is then queued for rewriting: see
   * takeDamaged). The view is reused by the next read: copy what you keep.
   */
  read(tile: number, offset: number): Uint8Array | undefined {
    if (this.closed || tile >= this.coveredTiles) return undefined;
    const blk = this.readBlock(tile, blockOf(offset));
    if (blk === undefined) this.damaged.add(tile);
    return blk;
  }

  /** Queues the record of `tile` for rewriting (its tile root disagreed with the database). */
  markDamaged(tile: number): void {
    if (tile < this.coveredTiles) this.damaged.add(tile);
  }

  /** Up to `max` queued damaged tiles, removed from the queue. */
  takeDamaged(max: number): number[] {
    const out: number[] = [];
    for (const t of this.damaged) {
      if (out.length >= max) break;
      out.push(t);
      this.damaged.delete(t);
    }
    return out;
  }

  /**
   * Writes the record of full level-0 tile `tile` from its stored leaf hashes (or their
   * TileTree): a rewrite of a covered tile, or the next tile after the covered prefix.
   * @throws {RangeError} for a tile beyond the next one, or hashes that are not a full tile
   */
  write(tile: number, tileHashes: Uint8Array | TileTree): void {
    if (this.closed) throw new Error('proof index is closed');
    if (tile > this.coveredTiles) {
      throw new RangeError(`proof index: tile ${tile} written before tile ${this.coveredTiles}`);
    }
    const rec = new Uint8Array(PROOF_RECORD_BYTES);
    encodeProofRecord(tile, tileHashes, rec);
    let done = 0;
    while (done < rec.length) {
      done += writeSync(this.fd, rec, done, rec.length - done, tile * PROOF_RECORD_BYTES + done);
    }
    if (tile === this.coveredTiles) this.coveredTiles++;
  }

  /** Forgets every record (a database that no longer matches the file). */
  reset(): void {
    ftruncateSync(this.fd, 0);
    this.coveredTiles = 0;
    this.damaged.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private intact(tile: number): boolean {
    for (let b = 0; b < BLOCKS; b++) if (this.readBlock(tile, b) === undefined) return false;
    return true;
  }

  private readBlock(tile: number, block: number): Uint8Array | undefined {
    const at = tile * PROOF_RECORD_BYTES + block * PROOF_BLOCK_BYTES;
    const n = readSync(this.fd, this.scratch, 0, PROOF_BLOCK_BYTES, at);
    return n === PROOF_BLOCK_BYTES && checkProofBlock(tile, block, this.scratch)
      ? this.scratch
      : undefined;
  }
}
