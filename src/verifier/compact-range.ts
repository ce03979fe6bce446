/**
 * A compact range [0, size) of an RFC 9162 tree: the roots of the perfect subtrees that cover
 * the leaves so far, left to right (one per set bit of `size`). Appending a leaf hash merges
 * equal-height roots; the tree head of [0, size) is the right-to-left fold of the roots, exactly
 * MTH of RFC 9162 §2.1.1 (whose split puts the largest power of two on the left).
 *
 * The verifier keeps one at its synced size: it hashes every entry it reads into the range and
 * compares the fold with the next signed checkpoint. A match proves both that the entries are
 * the log's and that the new checkpoint extends the old one, without trusting any tile. Pure.
 */
import { hashChildren } from '../merkle/rfc9162.js';

export class CompactRange {
  private readonly roots: Uint8Array[];
  private n: number;

  /**
   * @throws {RangeError} when `roots` does not have one hash per set bit of `size`
   */
  constructor(size = 0, roots: readonly Uint8Array[] = []) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError('compact range: bad size');
    let bits = 0;
    for (let s = size; s > 0; s = Math.floor(s / 2)) if (s % 2 === 1) bits++;
    if (roots.length !== bits || roots.some((r) => r.length !== 32)) {
      throw new RangeError(`compact range: size ${size} needs ${bits} 32-byte roots`);
    }
    this.n = size;
    this.roots = roots.map((r) => r.slice());
  }

  get size(): number {
    return this.n;
  }

  /** The subtree roots, left to right (copies). */
  get hashes(): Uint8Array[] {
    return this.roots.map((r) => r.slice());
  }

  /** Appends one leaf hash. */
  append(leafHash: Uint8Array): void {
    let h = leafHash;
    let s = this.n;
    while (s % 2 === 1) {
      h = hashChildren(this.roots.pop()!, h);
      s = Math.floor(s / 2);
    }
    this.roots.push(h);
    this.n++;
  }

  /**
   * Appends the root of a perfect subtree of 2^height leaves; `size` must be a multiple of
   * 2^height.
   * @throws {RangeError} when it is not
   */
  appendSubtree(root: Uint8Array, height: number): void {
    const w = 2 ** height;
    if (this.n % w !== 0) throw new RangeError('compact range: subtree not aligned');
    let h = root;
    let s = this.n / w;
    while (s % 2 === 1) {
      h = hashChildren(this.roots.pop()!, h);
      s = Math.floor(s / 2);
    }
    this.roots.push(h);
    this.n += w;
  }

  /** The RFC 9162 tree head of [0, size); undefined for the empty tree (its root is SHA-256("")). */
  root(): Uint8Array | undefined {
    if (this.roots.length === 0) return undefined;
    let r = this.roots[this.roots.length - 1]!;
    for (let i = this.roots.length - 2; i >= 0; i--) r = hashChildren(this.roots[i]!, r);
    return r;
  }

  clone(): CompactRange {
    return new CompactRange(this.n, this.roots);
  }
}
