import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { indexAdmitList } from '../../src/log/admission.js';
import { createLogApp } from '../../src/log/app.js';
import { createLogMetrics } from '../../src/log/metrics.js';
import { PROOF_BLOCK_BYTES, PROOF_RECORD_BYTES, ProofIndex } from '../../src/log/proof-index.js';
import { LogService } from '../../src/log/service.js';
import { MemoryStorage } from '../../src/log/storage/memory.js';
import { SUMMARY_LEVEL, summaryNode, TileTree, tileSummaries } from '../../src/log/tile-tree.js';
import {
  consistencyProof,
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
} from '../../src/merkle/rfc9162.js';
import { silentLogger } from '../../src/util/logger.js';
import { startTestLog } from '../helpers/log.js';
import { testKey } from '../helpers/world.js';

const SIZE = 256 * 5 + 77; // five full level-0 tiles, a partial one, a partial level-1 tile

async function grownStorage() {
  const storage = new MemoryStorage();
  const leaves: Uint8Array[] = [];
  const items = Array.from({ length: SIZE }, (_, i) => {
    const data = utf8(`{"i":${i}}`);
    leaves.push(hashLeaf(data));
    return { leafHash: leaves[i]!, data };
  });
  await storage.sequence(items);
  const svc = service(storage);
  await svc.start();
  while (await svc.integrateOnce()) {}
  await svc.close();
  return { storage, leaves };
}

const tmp = mkdtempSync(join(tmpdir(), 'vpause-proofs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function service(storage: MemoryStorage, proofIndex?: ProofIndex, maxIntegrateBatch = 300) {
  return new LogService({
    ...(proofIndex !== undefined ? { proofIndex } : {}),
    storage,
    signer: testKey('proofs.example/log').signer,
    admit: indexAdmitList({ labs: [], meters: [] }),
    logger: silentLogger(),
    metrics: createLogMetrics(undefined, false),
    sequencer: false,
    maxIntegrateBatch,
  });
}

describe('the log serves proofs from stored tiles and tile summaries', () => {
  it('stores a summary for every full level-0 tile, holding its sub-level 4..7 hashes', async () => {
    const { storage, leaves } = await grownStorage();
    const got = await storage.readTiles(
      [0, 1, 2, 3, 4, 5].map((index) => ({ level: SUMMARY_LEVEL, index })),
    );
    expect(got.slice(0, 5).every((s) => s?.length === 30 * 32)).toBe(true);
    expect(got[5]).toBeUndefined(); // the partial tile has no summary
    const sum = got[2]!;
    const tileLeaves = leaves.slice(512, 768);
    expect(toHex(summaryNode(sum, 7, 1)!)).toBe(toHex(rootFromLeafHashes(tileLeaves.slice(128))));
    expect(toHex(summaryNode(sum, 4, 3)!)).toBe(
      toHex(rootFromLeafHashes(tileLeaves.slice(48, 64))),
    );
  });

  it('gives the RFC 9162 inclusion proof of every index from a cold cache', async () => {
    const { storage, leaves } = await grownStorage();
    const svc = service(storage);
    await svc.start();
    for (let i = 0; i < SIZE; i++) {
      const got = (await svc.inclusionProof(i, SIZE)).map(toHex);
      expect(got).toEqual(inclusionProof(i, SIZE, leaves).map(toHex));
    }
    // And again with every full tile in memory (tile serving caches them).
    for (let n = 0; n < 5; n++) await svc.tile(0, n, 256);
    for (let i = 0; i < SIZE; i += 7) {
      expect((await svc.inclusionProof(i, SIZE)).map(toHex)).toEqual(
        inclusionProof(i, SIZE, leaves).map(toHex),
      );
    }
    await svc.close();
  });

  it('gives the RFC 9162 consistency proofs between integrated sizes', async () => {
    const { storage, leaves } = await grownStorage();
    const svc = service(storage);
    await svc.start();
    for (const m of [1, 2, 255, 256, 257, 600, 1023, SIZE - 1, SIZE]) {
      expect((await svc.consistencyProof(m, SIZE)).map(toHex)).toEqual(
        m === SIZE ? [] : consistencyProof(m, SIZE, leaves).map(toHex),
      );
    }
    await svc.close();
  });

  it('fills the proof index from stored tiles and serves the same proofs through it', async () => {
    const { storage, leaves } = await grownStorage();
    const path = join(tmp, 'fill.bin');
    const svc = service(storage, ProofIndex.open(path));
    await svc.start();
    await expect.poll(() => svc.proofIndexSize).toBe(5 * 256);
    for (let i = 0; i < SIZE; i++) {
      expect((await svc.inclusionProof(i, SIZE)).map(toHex)).toEqual(
        inclusionProof(i, SIZE, leaves).map(toHex),
      );
    }
    // The HTTP route answers a proof through the index without a promise, and the same bytes.
    const app = createLogApp(svc, { metrics: async () => '', metricsContentType: 'text/plain' });
    const res = app.fetch(new Request(`http://log.test/v1/proof/inclusion?index=9&size=${SIZE}`));
    expect(res).toBeInstanceOf(Response);
    expect(await (res as Response).json()).toEqual({
      hashes: inclusionProof(9, SIZE, leaves).map((h) => Buffer.from(h).toString('base64')),
    });
    await svc.close();
    // A reopened index that is ahead of the database (not this database's) is reset at start.
    const ahead = ProofIndex.open(path);
    expect(ahead.covered).toBe(5);
    const other = new LogService({
      storage: new MemoryStorage(),
      signer: testKey('proofs.example/log').signer,
      admit: indexAdmitList({ labs: [], meters: [] }),
      logger: silentLogger(),
      metrics: createLogMetrics(undefined, false),
      sequencer: false,
      proofIndex: ahead,
    });
    await other.start();
    expect(other.proofIndexSize).toBe(0);
    await other.close();
  });

  it('writes the records of tiles it integrates from the hashes of their summaries, reading no tile back', async () => {
    const storage = new MemoryStorage();
    const reads: string[] = [];
    const readTiles = storage.readTiles.bind(storage);
    storage.readTiles = async (ids) => {
      for (const id of ids) reads.push(`${id.level}/${id.index}`);
      return readTiles(ids);
    };
    const leaves: Uint8Array[] = [];
    await storage.sequence(
      Array.from({ length: SIZE }, (_, i) => {
        const data = utf8(`{"i":${i}}`);
        leaves.push(hashLeaf(data));
        return { leafHash: leaves[i]!, data };
      }),
    );
    // All five tiles in one integration.
    const svc = service(storage, ProofIndex.open(join(tmp, 'integrated.bin')), SIZE);
    await svc.start();
    expect(await svc.integrateOnce()).toBe(true);
    expect(svc.proofIndexSize).toBe(5 * 256); // written before integrateOnce resolved
    expect(reads.filter((r) => r.startsWith('0/'))).toEqual([]);
    for (const i of [0, 300, 5 * 256 - 1]) {
      expect((await svc.inclusionProof(i, SIZE)).map(toHex)).toEqual(
        inclusionProof(i, SIZE, leaves).map(toHex),
      );
    }
    await svc.close();
  });

  it('rewrites a damaged block from the database, counting it in /metrics', async () => {
    const { storage, leaves } = await grownStorage();
    const path = join(tmp, 'damage.bin');
    const metrics = createLogMetrics(undefined, false);
    const svc = new LogService({
      storage,
      signer: testKey('proofs.example/log').signer,
      admit: indexAdmitList({ labs: [], meters: [] }),
      logger: silentLogger(),
      metrics,
      sequencer: false,
      integrateIntervalMs: 20,
      proofIndex: ProofIndex.open(path),
    });
    await svc.start();
    await expect.poll(() => svc.proofIndexSize).toBe(5 * 256);
    const text = () => metrics.registry.metrics();
    expect(await text()).toMatch(/^vpause_log_proof_index_leaves 1280$/m);
    // Flip a byte in the block of leaf 2·256 + 40 (tile 2, block 2).
    const at = 2 * PROOF_RECORD_BYTES + 2 * PROOF_BLOCK_BYTES + 7;
    const fd = openSync(path, 'r+');
    writeSync(fd, Uint8Array.of(0x5a), 0, 1, at);
    closeSync(fd);
    const index = 2 * 256 + 40;
    const want = inclusionProof(index, SIZE, leaves).map(toHex);
    expect((await svc.inclusionProof(index, SIZE)).map(toHex)).toEqual(want); // from SQLite
    await expect.poll(text).toMatch(/^vpause_log_proof_index_rewrites_total 1$/m);
    const check = ProofIndex.open(path);
    expect(check.read(2, 40)).toBeDefined(); // rewritten whole
    check.close();
    expect((await svc.inclusionProof(index, SIZE)).map(toHex)).toEqual(want);
    await svc.close();
  });

  it('parses the proof routes’ query strictly and answers problems for bad ones', async () => {
    const { storage, leaves } = await grownStorage();
    const svc = service(storage);
    await svc.start();
    const app = createLogApp(svc, { metrics: async () => '', metricsContentType: 'text/plain' });
    const get = (q: string) => app.fetch(new Request(`http://log.test/v1/proof/${q}`));
    const ok = await get(`inclusion?index=300&size=${SIZE}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json');
    expect(await ok.json()).toEqual({
      hashes: inclusionProof(300, SIZE, leaves).map((h) => Buffer.from(h).toString('base64')),
    });
    // Other parameters, and names that only start like ours, are ignored.
    for (const q of [
      `inclusion?size=${SIZE}&index=300`,
      `inclusion?x=1&indexx=7&index=300&sizes=2&size=${SIZE}`,
    ]) {
      const r = await get(q);
      expect(r.status, q).toBe(200);
      expect(await r.json()).toEqual({
        hashes: inclusionProof(300, SIZE, leaves).map((h) => Buffer.from(h).toString('base64')),
      });
    }
    const cons = await get(`consistency?old=${SIZE}&size=${SIZE}`);
    expect(await cons.text()).toBe('{"hashes":[]}');
    for (const q of [
      `inclusion?size=${SIZE}`,
      `inclusion?index=1&index=2&size=${SIZE}`,
      `inclusion?index=01&size=${SIZE}`,
      `inclusion?index=-1&size=${SIZE}`,
      `inclusion?index=1e3&size=${SIZE}`,
      `inclusion?index=%31&size=${SIZE}`,
      `inclusion?index=&size=${SIZE}`,
      `inclusion?index&size=${SIZE}`,
      `inclusion?index=3&size=${SIZE}&index=3`,
      `inclusion?index=3&size=${SIZE}&size`,
      'inclusion',
      `inclusion?index=99999999999999999&size=${SIZE}`,
      'consistency?old=1',
    ]) {
      const r = await get(q);
      expect(r.status, q).toBe(400);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect(((await r.json()) as { code: string }).code, q).toBe('BAD_REQUEST');
    }
    expect((await get(`inclusion?index=0&size=${SIZE + 1}`)).status).toBe(404);
    await svc.close();
  });

  it('reads the proof query like a plain split on & and the first =, for any query', async () => {
    const { storage } = await grownStorage();
    const svc = service(storage);
    await svc.start();
    const app = createLogApp(svc, { metrics: async () => '', metricsContentType: 'text/plain' });
    const name = fc.oneof(
      { arbitrary: fc.constantFrom('index', 'size'), weight: 4 },
      { arbitrary: fc.constantFrom('indexx', 'siz', 'x', ''), weight: 1 },
    );
    const value = fc.oneof(
      { arbitrary: fc.constantFrom('5', '300', `${SIZE}`), weight: 4 },
      { arbitrary: fc.constantFrom('0', '01', '', '-1', `${SIZE + 1}`, '='), weight: 1 },
    );
    const pair = fc.oneof(
      fc.tuple(name, value).map(([n, v]) => `${n}=${v}`),
      name,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(pair, { maxLength: 5 }), async (pairs) => {
        const q = pairs.join('&');
        const got = (key: string) => {
          const vs = pairs
            .filter((p) => (p.includes('=') ? p.slice(0, p.indexOf('=')) : p) === key)
            .map((p) => (p.includes('=') ? p.slice(p.indexOf('=') + 1) : ''));
          return vs.length === 1 && /^(0|[1-9][0-9]*)$/.test(vs[0]!) ? Number(vs[0]) : undefined;
        };
        const index = got('index');
        const size = got('size');
        const want =
          index === undefined || size === undefined
            ? 400
            : size > SIZE || size === 0
              ? 404
              : index >= size
                ? 400
                : 200;
        const r = await app.fetch(new Request(`http://log.test/v1/proof/inclusion?${q}`));
        expect(r.status, q).toBe(want);
      }),
      { numRuns: 300 },
    );
    await svc.close();
  });

  it('refuses to start, and frees the data directory, when the proof index cannot be opened', async () => {
    const data = mkdtempSync(join(tmp, 'data-'));
    mkdirSync(join(data, 'proof-index.bin')); // a directory: opening it for writing fails
    await expect(startTestLog('', { memory: false, data })).rejects.toMatchObject({
      code: 'EISDIR',
    });
    rmSync(join(data, 'proof-index.bin'), { recursive: true });
    // Still locked by a leaked handle, this would fail with STORAGE_LOCKED.
    const t = await startTestLog('', { memory: false, data });
    expect(statSync(join(data, 'proof-index.bin')).isFile()).toBe(true);
    await t.close();
  });

  it('refuses a proof for a size beyond the integrated tree with NOT_FOUND', async () => {
    const { storage } = await grownStorage();
    const svc = service(storage);
    await svc.start();
    await expect(svc.inclusionProof(0, SIZE + 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await svc.close();
  });

  it('TileTree and tileSummaries agree with the tree hash of their hashes', () => {
    const base = new Uint8Array(256 * 32).map((_, i) => (i * 7) % 251);
    const tree = new TileTree(base);
    const hs = Array.from({ length: 256 }, (_, i) => base.subarray(i * 32, i * 32 + 32));
    expect(toHex(tree.node(8, 0)!)).toBe(toHex(rootFromLeafHashes(hs)));
    const [s] = tileSummaries([{ level: 0, index: 9, data: base }]);
    expect(s!.index).toBe(9);
    expect(toHex(summaryNode(s!.data, 6, 2)!)).toBe(toHex(tree.node(6, 2)!));
    expect(tileSummaries([{ level: 0, index: 1, data: base.subarray(0, 32 * 10) }])).toEqual([]);
  });
});
