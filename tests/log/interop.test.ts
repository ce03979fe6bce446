import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jcsBytes } from '../../protocol/src/index.js';
import { TlogClient } from '../../src/client/tlog-client.js';
import { bytesEqual, fromBase64, toHex } from '../../src/core/bytes.js';
import { hashLeaf, verifyInclusion } from '../../src/merkle/rfc9162.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import type { Checkpoint } from '../../src/tlog/checkpoint.js';
import { parseTlogProof, verifyTlogProofInclusion } from '../../src/tlog/proof.js';
import { json, startTestLog, type TestLog, waitForSize } from '../helpers/log.js';
import { TestLab } from '../helpers/world.js';

/**
 * Interop: a running log read only through the tlog-tiles API. Every root is recomputed from
 * tiles, every entry's inclusion verified, every pair of successive checkpoints proven
 * consistent, and every entry is the JCS encoding of the envelope that was submitted.
 */
describe('a running log read through the tiles API only', () => {
  const lab = new TestLab('lab-a.example');
  let t: TestLog;
  let client: TlogClient;
  const submitted: Uint8Array[] = [];
  const checkpoints: Checkpoint[] = [];
  const ENTRIES = 700; // > 2 full level-0 tiles, so full and partial tiles at two levels

  beforeAll(async () => {
    t = await startTestLog(`lab ${lab.root.vkey}\n`);
    client = new TlogClient({ url: t.url, logKey: parseVerifierKey(t.logKey.vkey) });
    const send = async (bodies: Uint8Array[]) => {
      const r = await t.post(
        '/v1/statements:batch',
        JSON.stringify(bodies.map((b) => JSON.parse(new TextDecoder().decode(b)))),
      );
      const { results } = await json(r);
      results.forEach((x: { index: number }, i: number) => {
        expect(x.index).toBe(submitted.length);
        // Submit with a non-canonical serialisation: the log must store the JCS form.
        submitted.push(jcsBytes(JSON.parse(new TextDecoder().decode(bodies[i]!))));
      });
      const cp = client.open(await waitForSize(t.url, submitted.length));
      checkpoints.push(cp.checkpoint);
    };
    await send(['n1', 'n2', 'n3'].map((n) => lab.register(n).body));
    let round = 0;
    while (submitted.length < ENTRIES) {
      const n = Math.min(97 + round * 13, ENTRIES - submitted.length);
      await send(Array.from({ length: n }, (_, i) => lab.usage(`n${(i % 3) + 1}`).body));
      round++;
    }
  }, 120_000);
  afterAll(() => t.close());

  it('serves several checkpoints, the last covering every entry', () => {
    expect(checkpoints.length).toBeGreaterThan(4);
    expect(checkpoints.at(-1)!.size).toBe(ENTRIES);
  });

  it('gives every checkpoint root when the tiles are recomputed', async () => {
    for (const cp of checkpoints) await client.verifyTree(cp.size, cp.rootHash);
  });

  it('proves each checkpoint consistent with the one before it', async () => {
    for (let i = 1; i < checkpoints.length; i++) {
      await client.verifyConsistent(checkpoints[i - 1]!, checkpoints[i]!);
    }
  });

  it('stores every entry as the JCS encoding of the submitted envelope, included in the tree', async () => {
    const last = checkpoints.at(-1)!;
    const entries = await client.entries(0, last.size, last.size);
    expect(entries.length).toBe(ENTRIES);
    for (let i = 0; i < entries.length; i++) {
      expect(bytesEqual(entries[i]!, submitted[i]!)).toBe(true);
      const proof = await client.inclusionProof(i, last.size);
      verifyInclusion(hashLeaf(entries[i]!), i, last.size, proof, last.rootHash);
    }
  });

  it("agrees with the log's JSON proofs and tlog-proof receipts", async () => {
    const last = checkpoints.at(-1)!;
    for (const i of [0, 1, 255, 256, 511, 699]) {
      const r = await json(fetch(`${t.url}/v1/proof/inclusion?index=${i}&size=${last.size}`));
      const hashes = r.hashes.map(fromBase64);
      expect(hashes.map(toHex)).toEqual((await client.inclusionProof(i, last.size)).map(toHex));
      const receipt = parseTlogProof(await (await fetch(`${t.url}/v1/receipt/${i}`)).text());
      const cp = client.open(receipt.checkpoint).checkpoint;
      verifyTlogProofInclusion(receipt, hashLeaf(submitted[i]!), cp);
    }
  });

  it('serves full tiles as immutable and the checkpoint as not cacheable', async () => {
    const full = await fetch(`${t.url}/tile/0/000`);
    expect(full.status).toBe(200);
    expect(full.headers.get('cache-control')).toContain('immutable');
    expect(full.headers.get('content-type')).toBe('application/octet-stream');
    expect((await fetch(`${t.url}/checkpoint`)).headers.get('cache-control')).toBe('no-cache');
  });
});
