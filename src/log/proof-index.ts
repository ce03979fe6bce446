/**
 * The proof index: a file beside the log's database that holds, for every full level-0 tile,
 * the whole subtree inside the tile (its 256 leaf hashes and the 255 hashes above them, up to
 * the tile's root). An inclusion proof through a full level-0 tile then costs one 16 KiB
 * `pread` and no hashing, where the database costs an index descent, a table descent and two
 * overflow pages for the tile (~25 µs on the bench machine) plus one more row for the
 * summary. At 10M entries these hashes are 640 MB: kept in the operating system's page cache
 * and read per proof, not held in the process (the RSS target of issue #3).
 *
 * The file is derived data, never the source of truth. It is written after the database has
 * committed the tiles (src/log/service.ts fills it from stored tiles), never fsynced, and every
 * record is checked when it is read: a CRC-32 over the hashes and the tile index, and by the
 * caller the record's tile root against the level-1 tile from the database. A record that was
 * never written, torn, lost in a power failure, or copied from another log fails the check; the
 * proof is then built from the database as before and the record is queued for rewriting.
 *
 * Record t (at byte t × 16 KiB): the hashes of sub-levels 0..8 of tile t (256 + 128 + … + 1 =
 * 511 hashes, sub-level r at hash offset 512 − 2^(9−r)), the tile index (uint64 LE), the magic
 * "VPI1" and the CRC-32 (LE) of everything before it; the rest is zero.
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
import { hashChildrenInto } from '../merkle/rfc9162.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';

/** Bytes of one record. */
export const PROOF_RECORD_BYTES = 16_384;
const HASHES = 2 * TILE_WIDTH - 1; // 511
const INDEX_AT = HASHES * 32; // 16,352
const MAGIC_AT = INDEX_AT + 8;
const CRC_AT = MAGIC_AT + 4;
const MAGIC = 0x31495056; // "VPI1" read as uint32 LE

/** Hash offset (in hashes) of sub-level r (0..8) within a record. */
function levelAt(r: number): number {
  return 2 * TILE_WIDTH - (2 * TILE_WIDTH) / 2 ** r;
}

/**
 * The hash at sub-level r (0..8), index j, of a record (a view into `rec`: copy it before the
 * next read of the index).
 */
export function recordNode(rec: Uint8Array, r: number, j: number): Uint8Array {
  const at = (levelAt(r) + j) * 32;
  return rec.subarray(at, at + 32);
}

/**
 * Fills `rec` (PROOF_RECORD_BYTES) with the record of full level-0 tile `tile` whose 256 leaf
 * hashes are `base`. Pure.
 */
export function encodeProofRecord(tile: number, base: Uint8Array, rec: Uint8Array): void {
  if (base.length !== TILE_WIDTH * 32) {
    throw new RangeError(`a proof record needs a full tile, got ${base.length / 32} hashes`);
  }
  if (!Number.isSafeInteger(tile) || tile < 0) throw new RangeError(`bad tile index ${tile}`);
  rec.fill(0);
  rec.set(base, 0);
  for (let r = 1; r <= TILE_HEIGHT; r++) {
    const below = levelAt(r - 1) * 32;
    const at = levelAt(r) * 32;
    for (let j = 0; j < TILE_WIDTH >> r; j++) {
      const l = rec.subarray(below + j * 64, below + j * 64 + 32);
      const rt = rec.subarray(below + j * 64 + 32, below + j * 64 + 64);
      hashChildrenInto(l, rt, rec, at + j * 32);
    }
  }
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  dv.setUint32(INDEX_AT, tile % 2 ** 32, true);
  dv.setUint32(INDEX_AT + 4, Math.floor(tile / 2 ** 32), true);
  dv.setUint32(MAGIC_AT, MAGIC, true);
  dv.setUint32(CRC_AT, crc32(rec.subarray(0, CRC_AT)), true);
}

/** Whether `rec` is an intact record of tile `tile`. Pure. */
export function checkProofRecord(tile: number, rec: Uint8Array): boolean {
  if (rec.length !== PROOF_RECORD_BYTES) return false;
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  return (
    dv.getUint32(MAGIC_AT, true) === MAGIC &&
    dv.getUint32(INDEX_AT, true) === tile % 2 ** 32 &&
    dv.getUint32(INDEX_AT + 4, true) === Math.floor(tile / 2 ** 32) &&
    dv.getUint32(CRC_AT, true) === crc32(rec.subarray(0, CRC_AT))
  );
}

export class ProofIndex {
  private readonly scratch = new Uint8Array(PROOF_RECORD_BYTES);
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
    while (n > 0 && this.readRecord(n - 1) === undefined) n--;
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
   * The record of full level-0 tile `tile`, or undefined when it is not written or fails its
   * check (it is then queued for rewriting: see takeDamaged). The view is reused by the next
   * read: copy what you keep.
   */
  read(tile: number): Uint8Array | undefined {
    if (this.closed || tile >= this.coveredTiles) return undefined;
    const rec = this.readRecord(tile);
    if (rec === undefined) this.damaged.add(tile);
    return rec;
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
   * Writes the record of full level-0 tile `tile` from its stored leaf hashes: a rewrite of a
   * covered tile, or the next tile after the covered prefix.
   * @throws {RangeError} for a tile beyond the next one, or a base that is not a full tile
   */
  write(tile: number, base: Uint8Array): void {
    if (this.closed) throw new Error('proof index is closed');
    if (tile > this.coveredTiles) {
      throw new RangeError(`proof index: tile ${tile} written before tile ${this.coveredTiles}`);
    }
    const rec = new Uint8Array(PROOF_RECORD_BYTES);
    encodeProofRecord(tile, base, rec);
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

  private readRecord(tile: number): Uint8Array | undefined {
    const n = readSync(this.fd, this.scratch, 0, PROOF_RECORD_BYTES, tile * PROOF_RECORD_BYTES);
    return n === PROOF_RECORD_BYTES && checkProofRecord(tile, this.scratch)
      ? this.scratch
      : undefined;
  }
}
