/**
 * Witness conformance (C2SP tlog-witness), driving a running witness over HTTP as a log would:
 * every status the specification fixes, where it fixes it, and the compare-and-swap under
 * concurrency. State is the real SQLite store unless a case needs fault injection.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { parseVerifierKey, verifierKeyOf } from '../../src/note/keys.js';
import { parseNote } from '../../src/note/note.js';
import { openCheckpoint, signCheckpoint } from '../../src/tlog/checkpoint.js';
import { verifiedCosignatures, verifyCosignature } from '../../src/tlog/cosignature.js';
import { silentLogger } from '../../src/util/logger.js';
import { formatAddCheckpointRequest, originHash } from '../../src/witness/protocol.js';
import { type RunningWitness, startWitness } from '../../src/witness/server.js';
import { SqliteWitnessStore } from '../../src/witness/sqlite.js';
import { MemoryWitnessStore, type WitnessStore } from '../../src/witness/store.js';
import { testKey } from '../helpers/world.js';
import { addCheckpoint, FakeLog } from './helpers.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const logKey = testKey('log.example/log');
const witnessKey = testKey('witness.example/w1', true);
const witnessVkey = parseVerifierKey(witnessKey.vkey);

async function start(
  extra: Partial<Parameters<typeof startWitness>[0]> = {},
): Promise<RunningWitness> {
  return startWitness({
    data: mkdtempSync(join(tmpdir(), 'vpause-witness-')),
    host: '127.0.0.1',
    port: 0,
    key: witnessKey.signer,
    logs: [logKey.vkey],
    now: () => NOW,
    logger: silentLogger(),
    ...extra,
  });
}

async function served(w: RunningWitness, origin = 'log.example/log') {
  const r = await fetch(`${w.url}/${originHash(origin)}/checkpoint`);
  return { status: r.status, text: await r.text() };
}

describe('a witness driven as a log would drive it', () => {
  let w: RunningWitness;
  const log = new FakeLog(logKey.signer);

  beforeAll(async () => {
    w = await start();
  });
  afterAll(() => w.close());

  describe('before it cosigned anything for the log', () => {
    it('answers the monitoring read with 404', async () => {
      expect((await served(w)).status).toBe(404);
    });

    it('answers a request from old size 5 with 409 and body "0\\n" as text/x.tlog.size', async () => {
      log.append(5);
      const r = await addCheckpoint(w.url, log.request(5, 5));
      expect(r).toEqual({ status: 409, type: 'text/x.tlog.size', text: '0\n' });
    });
  });

  describe('when the first checkpoint comes with old size 0 and no proof', () => {
    it('answers 200 with one cosignature/v1 line by the witness key, timestamped by its clock', async () => {
      const r = await addCheckpoint(w.url, log.request(0, 5));
      expect(r.status).toBe(200);
      expect(r.text.endsWith('\n')).toBe(true);
      const body = parseNote(log.checkpoint(5)).text;
      const sigs = parseNote(`${body}\n${r.text}`).signatures;
      expect(sigs).toHaveLength(1);
      expect(verifyCosignature(body, sigs[0]!, witnessVkey)).toEqual({ time: NOW / 1000 });
    });

    it('serves that checkpoint at /<sha256(origin)>/checkpoint with the log signature and the cosignature', async () => {
      const s = await served(w);
      expect(s.status).toBe(200);
      const { checkpoint, note } = openCheckpoint(s.text, parseVerifierKey(logKey.vkey), [
        witnessVkey,
      ]);
      expect(checkpoint.size).toBe(5);
      expect(note.verified.map((k) => k.vkey)).toEqual([logKey.vkey, witnessKey.vkey]);
    });
  });

  describe('when the log grows and sends valid consistency proofs', () => {
    it('cosigns each larger checkpoint (5 → 8 → 300 → 301) and serves the latest', async () => {
      for (const next of [8, 300, 301]) {
        const old = log.size;
        log.append(next - old);
        const r = await addCheckpoint(w.url, log.request(old, next));
        expect(r.status, `size ${next}`).toBe(200);
      }
      const s = await served(w);
      expect(s.text.split('\n')[1]).toBe('301');
    });

    it('cosigns the same checkpoint again at equal old and new size (empty proof)', async () => {
      const r = await addCheckpoint(w.url, log.request(301, 301));
      expect(r.status).toBe(200);
    });
  });

  describe('when the old size is not the last cosigned size', () => {
    it('answers 409 with the stored size, for a stale old size below it', async () => {
      expect(await addCheckpoint(w.url, log.request(8, 301))).toEqual({
        status: 409,
        type: 'text/x.tlog.size',
        text: '301\n',
      });
    });

    it('answers 409 with the stored size when the client claims old size 0', async () => {
      const r = await addCheckpoint(w.url, log.request(0, 301));
      expect([r.status, r.text]).toEqual([409, '301\n']);
    });
  });

  describe('when the request is malformed (400)', () => {
    const cases: [string, () => string][] = [
      ['no old size line', () => log.checkpoint()],
      ['an old size with a leading zero', () => `old 05\n\n${log.checkpoint()}`],
      ['a proof line that is not base64', () => `old 301\nnot base64!\n\n${log.checkpoint()}`],
      ['a proof line that is not 32 bytes', () => `old 301\nAAAA\n\n${log.checkpoint()}`],
      [
        'more than 63 proof lines',
        () => `old 8\n${`${toBase64(new Uint8Array(32))}\n`.repeat(64)}\n${log.checkpoint()}`,
      ],
      ['no blank line before the checkpoint', () => `old 301\n`],
      ['a checkpoint that is not a signed note', () => `old 301\n\nhello\n`],
      [
        'a note whose body is not a checkpoint',
        () =>
          `old 0\n\n${signCheckpoint({ origin: 'x', size: 1, rootHash: new Uint8Array(32), extensions: [] }, logKey.signer).replace('\n1\n', '\n01\n')}`,
      ],
    ];
    it.each(cases)('answers 400 for %s', async (_name, body) => {
      expect((await addCheckpoint(w.url, body())).status).toBe(400);
    });

    it('answers 400 when the old size is above the checkpoint size', async () => {
      const r = await addCheckpoint(w.url, log.request(301, 8, []));
      expect(r.status).toBe(400);
    });
  });

  describe('when the signature is not from a trusted key of the origin (403)', () => {
    it('answers 403 for a checkpoint of the origin signed only by an unknown key', async () => {
      const other = testKey('someone-else.example/log');
      const forged = signCheckpoint(
        { origin: 'log.example/log', size: 301, rootHash: log.root(301), extensions: [] },
        other.signer,
      );
      const r = await addCheckpoint(w.url, formatAddCheckpointRequest(301, [], forged));
      expect(r.status).toBe(403);
    });

    it('answers 403 when a line with the log key name and ID carries a bad signature', async () => {
      const good = log.checkpoint(301);
      const lines = good.split('\n');
      const sigLine = lines.at(-2)!;
      const raw = Buffer.from(sigLine.split(' ')[2]!, 'base64');
      raw[10]! ^= 0xff;
      lines[lines.length - 2] =
        `${sigLine.split(' ').slice(0, 2).join(' ')} ${raw.toString('base64')}`;
      const r = await addCheckpoint(w.url, formatAddCheckpointRequest(301, [], lines.join('\n')));
      expect(r.status).toBe(403);
    });
  });

  describe('when the origin is not a configured log (404)', () => {
    it('answers 404', async () => {
      const stranger = new FakeLog(testKey('stranger.example/log').signer).append(3);
      expect((await addCheckpoint(w.url, stranger.request(0))).status).toBe(404);
    });
  });

  describe('when the checkpoint is inconsistent with what was cosigned (422)', () => {
    it('answers 422 for a size-0 checkpoint whose root is not the empty tree root', async () => {
      const fresh = await start();
      try {
        const note = signCheckpoint(
          { origin: 'log.example/log', size: 0, rootHash: sha256(utf8('x')), extensions: [] },
          logKey.signer,
        );
        const r = await addCheckpoint(fresh.url, formatAddCheckpointRequest(0, [], note));
        expect(r.status).toBe(422);
        expect((await served(fresh)).status).toBe(404);
      } finally {
        await fresh.close();
      }
    });

    it('answers 422 for a non-empty proof from old size 0', async () => {
      const fresh = await start();
      try {
        const r = await addCheckpoint(fresh.url, log.request(0, 8, log.proof(5, 8)));
        expect(r.status).toBe(422);
      } finally {
        await fresh.close();
      }
    });

    it('answers 422 for a consistency proof that does not verify, and keeps its state', async () => {
      const before = await served(w);
      const grown = new FakeLog(logKey.signer);
      grown.leaves.push(...log.leaves);
      grown.append(20);
      const bad = grown.proof(301, 321);
      bad[0] = sha256(utf8('not a node'));
      const r = await addCheckpoint(w.url, grown.request(301, 321, bad));
      expect(r.status).toBe(422);
      expect(await served(w)).toEqual(before);
    });

    it('answers 422 for a non-empty proof between equal sizes', async () => {
      const r = await addCheckpoint(w.url, log.request(301, 301, [sha256(utf8('x'))]));
      expect(r.status).toBe(422);
    });

    describe('and the checkpoint is a fork: the same size with another root', () => {
      it('answers 422, leaves the stored checkpoint unchanged, and keeps the refused request', async () => {
        const before = await served(w);
        const fork = new FakeLog(logKey.signer).append(301, 'forked');
        const r = await addCheckpoint(w.url, fork.request(301, 301, []));
        expect(r.status).toBe(422);
        expect(await served(w)).toEqual(before);
        const refusals = w.witness.refusals();
        expect(refusals.at(-1)).toMatchObject({ status: 422, code: 'WITNESS_ROOT_MISMATCH' });
      });

      it('answers 422 for a larger forked checkpoint whose proof is from the forked tree', async () => {
        const fork = new FakeLog(logKey.signer).append(400, 'forked');
        const r = await addCheckpoint(w.url, fork.request(301, 400));
        expect(r.status).toBe(422);
        expect((await served(w)).text.split('\n')[1]).toBe('301');
      });
    });
  });

  describe('the service endpoints', () => {
    it('publishes the protocol paths in /openapi.json', async () => {
      const doc = (await (await fetch(`${w.url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/add-checkpoint', '/{originHash}/checkpoint', '/healthz']),
      );
    });

    it('counts requests by status and reports the cosigned size in /metrics', async () => {
      const m = await (await fetch(`${w.url}/metrics`)).text();
      expect(m).toMatch(/vpause_witness_add_checkpoint_total\{status="200",code="OK"\} [1-9]/);
      expect(m).toMatch(
        /vpause_witness_add_checkpoint_total\{status="422",code="WITNESS_ROOT_MISMATCH"\} [1-9]/,
      );
      expect(m).toContain('vpause_witness_cosigned_size{origin="log.example/log"} 301');
    });

    it('answers /healthz with the configured logs', async () => {
      const h = await (await fetch(`${w.url}/healthz`)).json();
      expect(h).toEqual({ ok: true, name: 'witness.example/w1', logs: ['log.example/log'] });
    });
  });
});

describe('persistence', () => {
  describe('when the witness restarts on the same data directory', () => {
    it('remembers the last cosigned size (409 with it) and refuses a fork of it', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vpause-witness-'));
      const log = new FakeLog(logKey.signer).append(10);
      const w1 = await start({ data: dir });
      expect((await addCheckpoint(w1.url, log.request(0))).status).toBe(200);
      await w1.close();
      const w2 = await start({ data: dir });
      try {
        expect(await addCheckpoint(w2.url, log.request(0))).toMatchObject({
          status: 409,
          text: '10\n',
        });
        const fork = new FakeLog(logKey.signer).append(10, 'forked');
        expect((await addCheckpoint(w2.url, fork.request(10, 10, []))).status).toBe(422);
      } finally {
        await w2.close();
      }
    });

    it('writes through SQLite in WAL mode with synchronous = FULL', () => {
      const s = SqliteWitnessStore.open({ dir: mkdtempSync(join(tmpdir(), 'vpause-witness-')) });
      try {
        expect(s.settings()).toEqual({ journalMode: 'wal', synchronous: 2 });
      } finally {
        s.close();
      }
    });

    it('refuses a second store on a data directory in use with WITNESS_STORAGE_LOCKED', () => {
      const dir = mkdtempSync(join(tmpdir(), 'vpause-witness-'));
      const s = SqliteWitnessStore.open({ dir });
      try {
        expect(() => SqliteWitnessStore.open({ dir, lockTimeoutMs: 50 })).toThrow(
          expect.objectContaining({ code: 'WITNESS_STORAGE_LOCKED' }),
        );
      } finally {
        s.close();
      }
    });
  });

  describe('when persisting the new checkpoint fails', () => {
    it('answers 500 without a cosignature and keeps the previous state', async () => {
      let fail = false;
      const store = new MemoryWitnessStore({
        beforeWrite: () => {
          if (fail) throw new Error('disk full');
        },
      });
      const w = await start({ data: undefined, store });
      try {
        const log = new FakeLog(logKey.signer).append(4);
        expect((await addCheckpoint(w.url, log.request(0))).status).toBe(200);
        fail = true;
        log.append(4);
        const r = await addCheckpoint(w.url, log.request(4));
        expect(r.status).toBe(500);
        expect(r.text).not.toContain('\u2014');
        expect(store.latest('log.example/log')?.size).toBe(4);
      } finally {
        await w.close();
      }
    });
  });
});

describe('50 concurrent add-checkpoint requests', () => {
  it('never leave the stored size lower than a size already answered with a cosignature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-witness-'));
    const inner = SqliteWitnessStore.open({ dir });
    const writes: number[] = [];
    // The real SQLite store, with every committed write recorded in commit order.
    const store: WitnessStore = {
      driver: inner.driver,
      latest: (o) => inner.latest(o),
      all: () => inner.all(),
      update: (o, decide) =>
        inner.update(o, (cur) => {
          const d = decide(cur);
          if (d.write !== undefined) writes.push(d.write.size);
          return d;
        }),
      recordRefusal: (r) => inner.recordRefusal(r),
      refusals: () => inner.refusals(),
      close: () => inner.close(),
    };
    const w = await start({ data: undefined, store });
    try {
      const log = new FakeLog(logKey.signer).append(200);
      expect((await addCheckpoint(w.url, log.request(0, 100))).status).toBe(200);
      // 50 submitters, each holding a checkpoint of its own size (50 sizes around 100, some
      // below it), behaving like a log: start from old size 100, follow 409s, stop when the
      // witness is past their size.
      const sizes = Array.from({ length: 50 }, (_, i) => 90 + ((i * 37) % 100));
      const answered: number[] = [];
      await Promise.all(
        sizes.map(async (size) => {
          let old = 100;
          for (let tries = 0; tries < 60 && old <= size; tries++) {
            const r = await addCheckpoint(w.url, log.request(old, size));
            if (r.status === 200) {
              answered.push(size);
              return;
            }
            expect(r.status).toBe(409);
            old = Number(r.text);
          }
        }),
      );
      expect(answered.length).toBeGreaterThan(0);
      const stored = inner.latest('log.example/log')!.size;
      for (const s of answered) expect(stored).toBeGreaterThanOrEqual(s);
      // Committed sizes never went down.
      for (let i = 1; i < writes.length; i++) {
        expect(writes[i]!).toBeGreaterThanOrEqual(writes[i - 1]!);
      }
      // And the stored checkpoint is the one for the stored size, with its cosignature.
      const s = await served(w);
      const opened = openCheckpoint(s.text, parseVerifierKey(logKey.vkey), [witnessVkey]);
      expect(opened.checkpoint.size).toBe(stored);
      expect(verifiedCosignatures(opened.note, opened.note.text, [witnessVkey])).toHaveLength(1);
    } finally {
      await w.close();
    }
  });
});

describe('configuration', () => {
  it('refuses a witness key that is not a cosignature key with WITNESS_CONFIG', async () => {
    await expect(
      start({ key: logKey.signer, data: undefined, memory: true }),
    ).rejects.toMatchObject({
      code: 'WITNESS_CONFIG',
    });
  });

  it('refuses a log key that is a cosignature key with WITNESS_CONFIG', async () => {
    await expect(
      start({ logs: [witnessKey.vkey], data: undefined, memory: true }),
    ).rejects.toMatchObject({ code: 'WITNESS_CONFIG' });
  });

  it('exposes its verifier key as a policy lists it', async () => {
    const w = await start({ data: undefined, memory: true });
    try {
      expect(w.vkey).toBe(verifierKeyOf(witnessKey.signer).vkey);
    } finally {
      await w.close();
    }
  });
});
