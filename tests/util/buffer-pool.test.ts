/** BufferPool (src/util/buffer-pool.ts): which buffers come back, and which never do. */
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/util/buffer-pool.js';

describe('BufferPool', () => {
  it('gives back the smallest free buffer that fits, else a new one with room to spare', () => {
    const pool = new BufferPool(4, 1024, 1 << 20);
    const small = pool.take(100);
    expect(small.length).toBe(1024); // minBytes
    const big = pool.take(8000);
    expect(big.length).toBe(9000); // 1/8 over the request
    pool.give(big);
    pool.give(small);
    expect(pool.size).toBe(2);
    expect(pool.take(500)).toBe(small);
    expect(pool.take(8500)).toBe(big);
    expect(pool.size).toBe(0);
    // none free that fits: a new one
    pool.give(small);
    const other = pool.take(2000);
    expect(other).not.toBe(small);
    expect(pool.size).toBe(1);
  });

  it('keeps no buffer that was transferred, is oversized, or would overfill it', async () => {
    const pool = new BufferPool(2, 0, 4096);
    const sent = pool.take(100);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(sent, [sent.buffer as ArrayBuffer]);
    port1.close();
    port2.close();
    expect(sent.byteLength).toBe(0); // detached
    pool.give(sent);
    expect(pool.size).toBe(0);
    const huge = pool.take(5000);
    expect(huge.length).toBe(5000); // larger than pooled buffers: exactly what was asked
    pool.give(huge);
    expect(pool.size).toBe(0);
    pool.give(pool.take(10));
    pool.give(new Uint8Array(10));
    pool.give(new Uint8Array(10));
    expect(pool.size).toBe(2);
  });
});
