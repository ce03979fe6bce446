/**
 * `verifyPause` with worker threads evaluates the question while the workers still check the
 * last signatures (outcomes not yet checked read as valid), and keeps that evaluation only when
 * none of them came out invalid. These tests serve a log over the tlog-tiles read API from
 * 127.0.0.1 (large enough for worker threads) and hold the verdicts to ground truth and to the
 * evaluation of a follower that checks every signature first: a log whose signatures all verify
 * (the early evaluation stands), and one with a usage report whose signature does not (a
 * misbehaving log: the early evaluation is discarded and the bad signature is found).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTime } from '../../protocol/src/time.js';
import { utf8 } from '../../src/core/bytes.js';
import { hashLeaf, rootFromLeafHashes } from '../../src/merkle/rfc9162.js';
import { encodeEntryBundle, entriesPath, TILE_WIDTH } from '../../src/merkle/tiles.js';
import { evaluatePause } from '../../src/verifier/evaluate.js';
import { WORKER_THRESHOLD } from '../../src/verifier/ingest.js';
import { LogFollower } from '../../src/verifier/sync.js';
import { verifyPause } from '../../src/verifier/verify.js';
import {
  IDLE_NODE_J,
  pauseLogCheckpoint,
  pauseLogEntries,
  pauseLogKeys,
  pauseLogPolicy,
  usageIndex,
} from '../helpers/pause-log.js';

const LAB = 'lab-s.example';
const NODES = 10;
const INTERVAL = 300;
const INTERVALS = 400;
const T0 = Date.UTC(2026, 10, 27) / 1000;
const keys = pauseLogKeys('spec', LAB, NODES);

/** An honest lab's log; the meter reads exactly what the reports explain (PUE 1.25, 150 kW). */
function honestLog(): Uint8Array[] {
  return [
    ...pauseLogEntries({
      lab: LAB,
      ...keys,
      t0: T0,
      intervalSeconds: INTERVAL,
      intervals: INTERVALS,
      meterEnergyJ: () => 1.25 * NODES * IDLE_NODE_J + 150_000 * INTERVAL,
    }),
  ];
}

/** Serves `entries` as a tlog-tiles log (checkpoint and entry bundles) on 127.0.0.1. */
async function serve(entries: readonly Uint8Array[]): Promise<{ url: string; server: Server }> {
  const size = entries.length;
  const note = pauseLogCheckpoint(keys, size, rootFromLeafHashes(entries.map(hashLeaf)), T0 + 600);
  const files = new Map<string, Uint8Array>([['/checkpoint', utf8(note)]]);
  for (let n = 0; n * TILE_WIDTH < size; n++) {
    const part = entries.slice(n * TILE_WIDTH, (n + 1) * TILE_WIDTH);
    files.set(`/${entriesPath(n, part.length)}`, encodeEntryBundle(part));
  }
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const question = { lab: LAB, pause: 'pause-1', to: formatTime(T0 + INTERVALS * INTERVAL) };
const asOf = T0 + INTERVALS * INTERVAL + 3600;
const codes = (fs: readonly { code: string }[]) => [...new Set(fs.map((f) => f.code))].sort();

/** The evaluation of a follower that checks every signature before it indexes anything. */
async function checkedFirst(url: string) {
  const policy = pauseLogPolicy(keys, url);
  const f = new LogFollower({ policy, logUrl: url, threads: 2 });
  try {
    const sync = await f.sync();
    const e = evaluatePause({
      policy,
      index: f.index,
      timeline: f.timeline(),
      anchor: f.anchor(),
      forks: f.forks,
      question,
      asOf,
    });
    return { sync, verdict: e.verdict };
  } finally {
    f.close();
  }
}

let running: Server | undefined;
afterEach(() => {
  running?.close();
  running = undefined;
});

describe('evaluating while the last signatures are checked', () => {
  it('keeps the early evaluation when every signature verifies', async () => {
    const entries = honestLog();
    expect(entries.length).toBeGreaterThanOrEqual(WORKER_THRESHOLD);
    const { url, server } = await serve(entries);
    running = server;
    const r = await verifyPause({ policy: pauseLogPolicy(keys, url), question, asOf, threads: 2 });
    expect(r.sync?.revised).toBe(0);
    expect(r.verdict.verdict).toBe('compliant');
    expect(r.verdict.findings).toEqual([]);
    const reference = await checkedFirst(url);
    expect(reference.sync.revised).toBe(0);
    expect(r.verdict).toEqual(reference.verdict);
  }, 120_000);

  it('evaluates again, and finds the bad signature, when a deferred check fails', async () => {
    const entries = honestLog();
    // A misbehaving log holds node n3's report 200 with its signature altered (still canonical
    // base64 of 64 bytes, so the worker defers its check like any other).
    const at = usageIndex(NODES, 3, 200);
    const env = JSON.parse(Buffer.from(entries[at]!).toString('utf8')) as {
      signatures: { keyid: string; sig: string }[];
    };
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    sig[10] = sig[10]! ^ 1;
    env.signatures[0]!.sig = sig.toString('base64');
    entries[at] = utf8(JSON.stringify(env));
    const { url, server } = await serve(entries);
    running = server;
    const r = await verifyPause({ policy: pauseLogPolicy(keys, url), question, asOf, threads: 2 });
    expect(r.sync?.revised).toBe(1);
    // Ground truth: the report is not authentic, so n3's interval 200 is unreported and its
    // chain has a gap at seq 200.
    expect(r.verdict.verdict).toBe('violation');
    expect(codes(r.verdict.findings)).toEqual(['bad-signature', 'missing-report', 'seq-gap']);
    const bad = r.verdict.findings.find((f) => f.code === 'bad-signature')!;
    // Its evidence: n3's registration (entry 3, the key it names) and the report.
    expect(bad.evidence.map((x) => x.index)).toEqual([3, at]);
    const reference = await checkedFirst(url);
    expect(reference.sync.revised).toBe(1);
    expect(r.verdict).toEqual(reference.verdict);
  }, 120_000);
});
