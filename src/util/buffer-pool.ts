/**
 * Byte buffers to reuse, for a thread that reads and packs many blobs of about the same size
 * (the verifier's ingestion: an entry bundle of ~220 KiB and the signed messages copied out of
 * it, hundreds of times a run). Fresh memory costs a page fault for each 4 KiB first
 * touched, and on some virtual machines that is dear: 13–16 µs a fault on the 2-core VM the
 * benchmarks run on, where a run of bench:verify took ~30,000 faults a worker before this pool
 * (docs/verifier.md). A buffer handed to another thread (transferred, so detached) is simply not
 * given back. Pure: no I/O.
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];

  /**
   * @param maxPooled buffers kept for reuse at most
   * @param minBytes smallest buffer made (a little room over the first request lets later,
   *   slightly larger ones reuse it)
   * @param maxBytes larger requests get a buffer of their own, never pooled
   * @param shared buffers over SharedArrayBuffers (for reading on several threads at once)
   */
  constructor(
    private readonly maxPooled = 8,
    private readonly minBytes = 0,
    private readonly maxBytes = 4 << 20,
    private readonly shared = false,
  ) {}

  private make(length: number): Uint8Array {
    return new Uint8Array(this.shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length));
  }

  /** A buffer of at least `length` bytes, holding whatever it last held. */
  take(length: number): Uint8Array {
    if (length > this.maxBytes) return this.make(length);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.length >= length && (best < 0 || b.length < this.free[best]!.length)) best = i;
    }
    if (best >= 0) {
      const b = this.free[best]!;
      this.free[best] = this.free[this.free.length - 1]!;
      this.free.pop();
      return b;
    }
    return this.make(Math.min(this.maxBytes, Math.max(this.minBytes, length + (length >> 3))));
  }

  /**
   * Gives back a buffer `take` gave (the whole of it, not a view). Ignored when it was
   * transferred meanwhile (detached), is larger than pooled buffers, or the pool is full.
   */
  give(b: Uint8Array): void {
    if (b.byteLength === 0 || b.length > this.maxBytes || this.free.length >= this.maxPooled) {
      return;
    }
    this.free.push(b);
  }

  /** Buffers waiting for reuse. */
  get size(): number {
    return this.free.length;
  }
}
