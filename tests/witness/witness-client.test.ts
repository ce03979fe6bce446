/**
 * The log's witness client against real Witness instances reached through an injected fetch (no
 * sockets): resync on 409, backoff with jitter, quorum before publication, supersession by newer
 * checkpoints, and refusal by witnesses holding another history.
 */

import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WitnessClient, type WitnessClientConfig } from '../../src/log/witness-client.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { parseNote } from '../../src/note/note.js';
import { parseTlogPolicy } from '../../src/policy/tlog-policy.js';
import { openCheckpoint } from '../../src/tlog/checkpoint.js';
import { verifiedCosignatures } from '../../src/tlog/cosignature.js';
import { createWitnessApp } from '../../src/witness/app.js';
import { MemoryWitnessStore } from '../../src/witness/store.js';
import { Witness } from '../../src/witness/witness.js';
import { testKey } from '../helpers/world.js';
import { FakeLog } from './helpers.js';

const logKey = testKey('log.example/log');
const wkeys = [1, 2, 3].map((i) => testKey(`witness${i}.example/w`, true));

interface Net {
  witnesses: Witness[];
  down: Set<number>;
  requests: { witness: number; old: number; size: number }[];
  fetch: typeof fetch;
}

/** Three in-process witnesses at http://wN.test/, reachable unless listed in `down`. */
function network(now = () => 1_800_000_000_000): Net {
  const witnesses = wkeys.map(
    (k) =>
      new Witness({
        signer: k.signer,
        logs: [parseVerifierKey(logKey.vkey)],
        store: new MemoryWitnessStore(),
        now,
      }),
  );
  const apps = witnesses.map((w) =>
    createWitnessApp(w, { metrics: async () => '', metricsContentType: 'text/plain', name: 'w' }),
  );
  const net: Net = {
    witnesses,
    down: new Set(),
    requests: [],
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      const i = Number(/^w(\d)\.test$/.exec(url.hostname)![1]) - 1;
      if (net.down.has(i)) throw new TypeError('fetch failed');
      const body = String(init?.body ?? '');
      const old = Number(/^old (\d+)/.exec(body)![1]);
      const size = Number(parseNote(body.slice(body.indexOf('\n\n') + 2)).text.split('\n')[1]);
      net.requests.push({ witness: i, old, size });
      return apps[i]!.request(url.pathname, { method: init?.method, body: init?.body });
    }) as typeof fetch,
  };
  return net;
}

function policy(quorum: string, urls = true): ReturnType<typeof parseTlogPolicy> {
  const lines = [`log ${logKey.vkey}`];
  for (const [i, k] of wkeys.entries()) {
    lines.push(`witness w${i + 1} ${k.vkey}${urls ? ` http://w${i + 1}.test/` : ''}`);
  }
  lines.push('group all3 2 w1 w2 w3');
  lines.push(`quorum ${quorum}`);
  return parseTlogPolicy(`${lines.join('\n')}\n`);
}

/** A sleep that takes no time but yields to timers and I/O. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

const clients: WitnessClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

function client(
  net: Net,
  log: FakeLog,
  extra: Partial<WitnessClientConfig> = {},
): { c: WitnessClient; published: { size: number; note: string }[]; proofs: [number, number][] } {
  const published: { size: number; note: string }[] = [];
  const proofs: [number, number][] = [];
  const c = new WitnessClient({
    policy: policy('all3'),
    consistencyProof: async (a, b) => {
      proofs.push([a, b]);
      return log.proof(a, b);
    },
    onPublish: (size, note) => published.push({ size, note }),
    fetch: net.fetch,
    random: () => 0.5,
    sleep: tick,
    ...extra,
  });
  clients.push(c);
  return { c, published, proofs };
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const witnessKeys = wkeys.map((k) => parseVerifierKey(k.vkey));

describe('WitnessClient', () => {
  describe('when a new checkpoint is handed to publish', () => {
    it('returns undefined at once and later publishes it with a quorum of verified cosignatures', async () => {
      const net = network();
      const log = new FakeLog(logKey.signer).append(10);
      const { c, published } = client(net, log);
      await expect(c.publish(log.checkpoint())).resolves.toBeUndefined();
      await until(() => published.length > 0);
      const { size, note } = published[0]!;
      expect(size).toBe(10);
      const opened = openCheckpoint(note, parseVerifierKey(logKey.vkey), witnessKeys);
      expect(
        verifiedCosignatures(opened.note, opened.note.text, witnessKeys).length,
      ).toBeGreaterThanOrEqual(2);
      expect(note.startsWith(log.checkpoint())).toBe(true);
    });
  });

  describe('when a witness already cosigned a smaller size the client does not know', () => {
    it('resyncs on 409 and sends a consistency proof from the size the witness reports', async () => {
      const net = network();
      const log = new FakeLog(logKey.signer).append(7);
      // Witness 1 learnt size 7 from an earlier process of this log.
      await net.witnesses[0]!.addCheckpoint(log.request(0, 7));
      log.append(5);
      const { c, published, proofs } = client(net, log);
      await c.publish(log.checkpoint());
      await until(() => published.length > 0 && c.state()[0]!.size === 12);
      const toW1 = net.requests.filter((r) => r.witness === 0).map((r) => r.old);
      expect(toW1).toEqual([0, 7]);
      expect(proofs).toContainEqual([7, 12]);
      expect(net.witnesses[0]!.latest('log.example/log')?.size).toBe(12);
    });
  });

  describe('when witnesses are unreachable', () => {
    it('never publishes while the quorum is out of reach, and publishes once they are back', async () => {
      const net = network();
      net.down = new Set([1, 2]);
      const log = new FakeLog(logKey.signer).append(3);
      const { c, published } = client(net, log);
      await c.publish(log.checkpoint());
      await until(() => c.state()[1]!.failures >= 3);
      expect(published).toEqual([]);
      net.down = new Set();
      await until(() => published.length > 0);
      expect(published[0]!.size).toBe(3);
    });

    it('waits between retries with exponential backoff and full jitter, capped', async () => {
      const net = network();
      net.down = new Set([0, 1, 2]);
      const log = new FakeLog(logKey.signer).append(3);
      const delays: number[] = [];
      const { c } = client(net, log, {
        policy: parseTlogPolicy(`witness w1 ${wkeys[0]!.vkey} http://w1.test/\nquorum w1\n`),
        random: () => 0.999,
        backoffBaseMs: 100,
        backoffMaxMs: 1_000,
        sleep: async (ms) => {
          delays.push(ms);
          if (delays.length >= 7) net.down = new Set();
          await tick();
        },
      });
      await c.publish(log.checkpoint());
      await until(() => c.state()[0]!.size === 3);
      expect(delays.slice(0, 7)).toEqual([99, 199, 399, 799, 999, 999, 999]);
    });

    it('uses the random source for jitter (half the cap at 0.5)', async () => {
      const net = network();
      net.down = new Set([0]);
      const log = new FakeLog(logKey.signer).append(3);
      const delays: number[] = [];
      const { c } = client(net, log, {
        policy: parseTlogPolicy(`witness w1 ${wkeys[0]!.vkey} http://w1.test/\nquorum w1\n`),
        random: () => 0.5,
        sleep: async (ms) => {
          delays.push(ms);
          if (delays.length >= 3) net.down = new Set();
          await tick();
        },
      });
      await c.publish(log.checkpoint());
      await until(() => c.state()[0]!.size === 3);
      expect(delays).toEqual([50, 100, 200]);
    });
  });

  describe('when newer checkpoints arrive', () => {
    it('keeps publishing larger checkpoints and never a smaller one after a larger', async () => {
      const net = network();
      const log = new FakeLog(logKey.signer);
      const { c, published } = client(net, log);
      for (let i = 0; i < 20; i++) {
        log.append(3);
        await c.publish(log.checkpoint());
      }
      await until(() => published.at(-1)?.size === 60);
      for (let i = 1; i < published.length; i++) {
        expect(published[i]!.size).toBeGreaterThanOrEqual(published[i - 1]!.size);
      }
    });

    it('ignores a checkpoint smaller than one it already has', async () => {
      const net = network();
      const log = new FakeLog(logKey.signer).append(9);
      const { c, published } = client(net, log);
      await c.publish(log.checkpoint(9));
      await c.publish(log.checkpoint(4));
      await until(() => published.length > 0);
      await new Promise((r) => setTimeout(r, 50));
      expect(published.every((p) => p.size === 9)).toBe(true);
    });
  });

  describe('when the witnesses hold another history of the log', () => {
    it('gets 422 from each, gives the checkpoint up, and never publishes it', async () => {
      const net = network();
      const honest = new FakeLog(logKey.signer).append(5);
      for (const w of net.witnesses) await w.addCheckpoint(honest.request(0, 5));
      const forked = new FakeLog(logKey.signer).append(8, 'forked');
      const reg = new Registry();
      const { c, published } = client(net, forked, { registry: reg });
      await c.publish(forked.checkpoint());
      await until(() => c.state().every((s) => s.size === 5 && s.failures > 0));
      await new Promise((r) => setTimeout(r, 50));
      expect(published).toEqual([]);
      const m = await reg.metrics();
      expect(m).toMatch(/vpause_log_witness_failures_total\{witness="w1",reason="http_422"\} 1/);
      for (const w of net.witnesses) expect(w.latest('log.example/log')?.size).toBe(5);
    });
  });

  describe('when an answer is not a valid cosignature by the witness key', () => {
    it('does not count it and retries', async () => {
      const net = network();
      const log = new FakeLog(logKey.signer).append(4);
      const impostor = testKey('witness1.example/w-impostor', true);
      let served = 0;
      const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
        if (String(input).startsWith('http://w1.test/') && served++ === 0) {
          const line = (await new Witness({
            signer: impostor.signer,
            logs: [parseVerifierKey(logKey.vkey)],
            store: new MemoryWitnessStore(),
          }).addCheckpoint(String(init?.body))) as { body: string };
          return new Response(line.body, { status: 200 });
        }
        return net.fetch(input, init);
      }) as typeof fetch;
      const { c } = client(net, log, {
        fetch: fetchStub,
        policy: parseTlogPolicy(`witness w1 ${wkeys[0]!.vkey} http://w1.test/\nquorum w1\n`),
      });
      await c.publish(log.checkpoint());
      await until(() => c.state()[0]!.size === 4);
      expect(c.state()[0]!.failures).toBe(1);
    });
  });

  describe('configuration', () => {
    it('refuses a policy whose witnesses with URLs cannot meet the quorum', () => {
      const net = network();
      expect(
        () =>
          new WitnessClient({
            policy: policy('all3', false),
            consistencyProof: async () => [],
            onPublish: () => {},
            fetch: net.fetch,
          }),
      ).toThrow(expect.objectContaining({ code: 'WITNESS_POLICY_UNSATISFIABLE' }));
    });

    it('under "quorum none" returns the checkpoint itself from publish', async () => {
      const net = network();
      const log = new FakeLog(logKey.signer).append(2);
      const { c } = client(net, log, { policy: policy('none') });
      await expect(c.publish(log.checkpoint())).resolves.toBe(log.checkpoint());
    });
  });
});
