/**
 * Following a log (src/verifier/sync.ts): incremental between runs through the cache, entries
 * checked against the signed root (a log serving other bytes is refused), two histories signed by
 * one log key turned into offline-checkable fork evidence and a log-inconsistent finding, and the
 * worker-thread ingestion equal to the inline one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkForkEvidence } from '../../src/monitor/evidence.js';
import { evaluatePause } from '../../src/verifier/evaluate.js';
import { InlineIngestor, WorkerIngestor } from '../../src/verifier/ingest.js';
import { PackedRecord } from '../../src/verifier/log-index.js';
import { LogFollower } from '../../src/verifier/sync.js';
import { TestLab } from '../helpers/world.js';
import { INTERVAL, LAB, MAX_DELAY, PAUSE, T0, World } from '../verifier-e2e/world.js';

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

async function world(opts: ConstructorParameters<typeof World>[0] = {}): Promise<World> {
  const w = await World.start(opts);
  worlds.push(w);
  return w;
}

function counting(): { fetch: typeof fetch; bundles: string[] } {
  const bundles: string[] = [];
  return {
    bundles,
    fetch: (input, init) => {
      const u = String(input);
      if (u.includes('/tile/entries/')) bundles.push(u.slice(u.indexOf('/tile/')));
      return fetch(input, init);
    },
  };
}

describe('a verifier run after an earlier one (same cache)', () => {
  it('reads only the entries the log added since, and keeps the checkpoints it saw', async () => {
    const cacheDir = join(mkdtempSync(join(tmpdir(), 'vpause-sync-')), 'cache');
    const w = await world({ cacheDir });
    await w.honest(0, 4);
    const seen = w.follower.checkpoints.length;
    const size = w.follower.size;
    w.follower.close();

    const c = counting();
    const again = new LogFollower({
      policy: w.policy,
      logUrl: w.log.url,
      cacheDir,
      fetch: c.fetch,
      now: () => w.now * 1000,
    });
    try {
      const r = await again.sync();
      expect(r.newEntries).toBe(0);
      expect(again.size).toBe(size);
      expect(c.bundles).toEqual([]); // the index was rebuilt from the cache
      expect(again.checkpoints.length).toBe(seen);
      w.follower = again; // the world now syncs through this follower
      await w.interval(4);
      // The four new statements come in one (partial) bundle; nothing before is read again.
      expect(c.bundles).toEqual([`/tile/entries/000.p/${size + 4}`]);
      expect(again.size).toBe(size + 4);
      const e = evaluatePause({
        policy: w.policy,
        index: again.index,
        timeline: again.timeline(),
        anchor: again.anchor(),
        question: {
          lab: LAB,
          pause: PAUSE,
          to: new Date((T0 + 5 * INTERVAL) * 1000).toISOString().replace('.000Z', 'Z'),
        },
        asOf: T0 + 5 * INTERVAL + MAX_DELAY + 1,
      });
      expect(e.verdict.verdict).toBe('compliant');
    } finally {
      again.close();
    }
  }, 60_000);
});

describe('a log serving entries that do not give its signed root', () => {
  it('is refused with LOG_BAD_RESPONSE, and nothing is indexed', async () => {
    const w = await world();
    await w.honest(0, 2);
    const tampering: typeof fetch = async (input, init) => {
      const r = await fetch(input, init);
      if (!String(input).includes('/tile/entries/')) return r;
      const b = new Uint8Array(await r.arrayBuffer());
      b[b.length - 10]! ^= 1;
      return new Response(b, { status: 200 });
    };
    const f = new LogFollower({ policy: w.policy, logUrl: w.log.url, fetch: tampering });
    try {
      await expect(f.sync()).rejects.toMatchObject({ code: 'LOG_BAD_RESPONSE' });
      expect(f.index.size).toBe(0);
    } finally {
      f.close();
    }
  }, 60_000);
});

describe('a log key that signed two histories', () => {
  it('gives fork evidence anyone can check offline, and log-inconsistent in the verdict', async () => {
    // Two logs with the same key (the test keys are deterministic): the same first statements,
    // then different reports for interval 0.
    const a = await world();
    await a.interval(0);
    const b = await world();
    await b.interval(0, { over: { n1: { energyJ: 1 } } });
    await b.interval(1);
    let target = a.log.url;
    const f = new LogFollower({
      policy: a.policy,
      logUrl: a.log.url,
      fetch: (input, init) => fetch(String(input).replace(a.log.url, target), init),
    });
    try {
      await f.sync();
      const before = f.size;
      target = b.log.url; // the log now shows the other history
      const r = await f.sync();
      expect(r.fork).toBeDefined();
      expect(r.fork!.kind).toBe('inconsistent');
      expect(f.size).toBe(before); // nothing from the other history is indexed
      expect(checkForkEvidence(JSON.parse(JSON.stringify(r.fork)), a.policy.tlog).code).toBe(
        'FORK_CONFIRMED',
      );
      const e = evaluatePause({
        policy: a.policy,
        index: f.index,
        timeline: f.timeline(),
        anchor: f.anchor(),
        forks: f.forks,
        question: { lab: LAB, pause: PAUSE },
        asOf: T0 + INTERVAL + MAX_DELAY + 1,
      });
      expect(e.verdict.verdict).toBe('violation');
      expect(e.verdict.findings[0]).toMatchObject({
        code: 'log-inconsistent',
        severity: 'violation',
      });
      expect(e.verdict.findings[0]!.checkpoints).toHaveLength(2);
    } finally {
      f.close();
    }
  }, 60_000);

  it('gives same-size evidence for two roots at one size', async () => {
    const a = await world();
    await a.interval(0);
    const b = await world();
    await b.interval(0, { over: { n2: { energyJ: 2 } } });
    let target = a.log.url;
    const f = new LogFollower({
      policy: a.policy,
      logUrl: a.log.url,
      fetch: (input, init) => fetch(String(input).replace(a.log.url, target), init),
    });
    try {
      await f.sync();
      target = b.log.url;
      const r = await f.sync();
      expect(r.fork?.kind).toBe('same-size');
      expect(checkForkEvidence(r.fork, a.policy.tlog).confirmed).toBe(true);
    } finally {
      f.close();
    }
  }, 60_000);
});

describe('ingestion on worker threads', () => {
  it('gives exactly the records and leaf hashes of the inline ingestion', async () => {
    const w = await world();
    await w.honest(0, 3);
    const all = await w.follower.entriesOf(
      [...w.follower.index.labs.get(LAB)!.usage.values()]
        .flat()
        .map((r) => ({ index: r.index, leafHash: r.leafHash })),
    );
    const entries = [...all.values()];
    const vkeys = [w.root.vkey, ...[...w.nodes.values()].map((n) => n.key.vkey)];
    const pool = new WorkerIngestor(vkeys, 2);
    try {
      const [x, y] = await Promise.all([
        pool.process({ start: 0, entries: entries.slice(0, 5) }),
        pool.process({ start: 5, entries: entries.slice(5) }),
      ]);
      const inline = await new InlineIngestor(vkeys).process({ start: 0, entries });
      // Packed records compare as the records they read as (PackedRecord.toJSON).
      const plain = (rs: readonly unknown[]) => JSON.parse(JSON.stringify(rs));
      expect(plain([...x.records, ...y.records])).toEqual(plain(inline.records));
      expect(Buffer.concat([x.leaf, y.leaf]).equals(Buffer.from(inline.leaf))).toBe(true);
      expect(inline.records.every((r) => 'valid' in r && r.valid.length === 1)).toBe(true);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('fails the checks a verification thread held when it stops, and every run after', async () => {
    const lab = new TestLab('lab-e.example');
    const entries = [lab.register('n1').body];
    for (let i = 0; i < 3000; i++) entries.push(lab.usage('n1').body);
    const pool = new WorkerIngestor([lab.root.vkey, lab.nodeKey('n1').vkey], 1, { defer: true });
    const b = await pool.process({ start: 0, entries });
    expect(b.checked).toBeDefined();
    // ~0.3 s of checks are still with the thread when it is stopped.
    await pool.close();
    await expect(b.checked).rejects.toThrow(/verifier worker exited/);
    await expect(pool.process({ start: 0, entries: entries.slice(0, 2) })).rejects.toThrow(
      /verifier worker exited/,
    );
  }, 60_000);

  it('answers runs before their deferred checks, then gives the outcomes found', async () => {
    const lab = new TestLab('lab-d.example');
    const bodies = [
      lab.register('n1').body,
      lab.usage('n1').body,
      lab.usage('n1').body,
      lab.usage('n1').body,
    ];
    const tampered = Uint8Array.from(bodies[2]!);
    const at = tampered.length - 20; // inside the signature, which stays 64 bytes of base64
    tampered[at] = tampered[at]! ^ 1;
    const entries = [bodies[0]!, bodies[1]!, tampered, bodies[3]!];
    const vkeys = [lab.root.vkey, lab.nodeKey('n1').vkey];
    const plain = (rs: readonly unknown[]) => JSON.parse(JSON.stringify(rs));
    const inline = await new InlineIngestor(vkeys).process({ start: 0, entries });
    const pool = new WorkerIngestor(vkeys, 2, { defer: true });
    try {
      const b = await pool.process({ start: 0, entries });
      expect(b.checked).toBeDefined();
      const r = b.records[2] as PackedRecord;
      expect(r).toBeInstanceOf(PackedRecord);
      // Until the checks are made, the forged report reads as signed.
      const vkey = lab.nodeKey('n1').vkey;
      expect(r.outcome(vkey)).toBe('valid');
      expect(r.valid).toEqual([vkey]);
      expect(await b.checked).toBe(1);
      expect(r.outcome(vkey)).toBe('invalid');
      expect(r.valid).toEqual([]);
      expect(r.invalid).toEqual([vkey]);
      // The registration's check is made before the answer; afterwards every record reads as
      // the inline ingestion's.
      expect(plain(b.records)).toEqual(plain(inline.records));
      expect((inline.records[2] as PackedRecord).invalid).toEqual([vkey]);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
