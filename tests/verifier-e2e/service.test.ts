/**
 * The verifier service: follows the log incrementally, answers verdict questions from its state
 * (without reading the log again), raises alerts as findings appear, and publishes /openapi.json,
 * /metrics and /healthz.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTime } from '../../protocol/src/time.js';
import { verdictSchema } from '../../protocol/src/verdict.js';
import { parseVerifierKey, verifierKeyOf } from '../../src/note/keys.js';
import { type RunningVerifier, startVerifier } from '../../src/verifier/service.js';
import { openSignedVerdict } from '../../src/verifier/signed-verdict.js';
import { json } from '../helpers/log.js';
import { testKey } from '../helpers/world.js';
import { IDLE_J, INTERVAL, LAB, MAX_DELAY, PAUSE, T0, World } from './world.js';

const verifierKey = testKey('verifier.example/v1');

describe('the verifier service following a live log', () => {
  let w: World;
  let v: RunningVerifier;
  let logRequests = 0;
  beforeAll(async () => {
    w = await World.start();
    v = await startVerifier({
      policy: w.policy,
      logUrl: w.log.url,
      host: '127.0.0.1',
      port: 0,
      now: () => w.now * 1000,
      pollIntervalMs: 3_600_000, // the test drives the syncs
      threads: 0,
      signer: verifierKey.signer,
      fetch: (input, init) => {
        logRequests++;
        return fetch(input, init);
      },
    });
    // The service follows the log from the start, as a deployed verifier does.
    w.afterSync = () => v.core.syncOnce();
    await w.honest(0, 4);
  }, 60_000);
  afterAll(async () => {
    await v?.close();
    await w?.close();
  });

  it('lists the labs of its policy and the pauses they declared', async () => {
    const r = await json(fetch(`${v.url}/v1/labs`));
    expect(r.labs).toEqual([
      {
        lab: LAB,
        pauses: [expect.objectContaining({ id: PAUSE, start: formatTime(T0), end: null })],
      },
    ]);
    expect(r.status.size).toBe(w.follower.size);
  });

  it('answers a verdict from its state without reading the log again', async () => {
    const before = logRequests;
    const r = await fetch(`${v.url}/v1/labs/${LAB}/pauses/${PAUSE}/verdict`);
    expect(r.status).toBe(200);
    const verdict = verdictSchema.parse(await r.json());
    expect(verdict.verdict).toBe('compliant');
    expect(verdict.summary.reports).toBe(12);
    expect(logRequests).toBe(before);
  });

  it('syncs only the new entries, and raises an alert when a node goes silent', async () => {
    const size = v.core.follower.size;
    const synced: number[] = [];
    w.afterSync = async () => synced.push((await v.core.syncOnce()).newEntries);
    await w.interval(4, { skip: ['n2'], hiddenGpuJ: IDLE_J });
    await w.honest(5, 7);
    // Each sync read only what that interval added (3 or 4 statements), never the whole log.
    expect(synced).toEqual([3, 4, 4]);
    expect(v.core.follower.size).toBe(size + 11);
    expect((await json(fetch(`${v.url}/v1/alerts?since=0`))).alerts).toEqual([]); // not yet due
    w.now = T0 + 5 * INTERVAL + MAX_DELAY + 1; // interval 4 is now due
    expect((await v.core.syncOnce()).newEntries).toBe(0);
    const r = await json(fetch(`${v.url}/v1/alerts?since=0`));
    expect(r.alerts.map((a: { finding: { code: string } }) => a.finding.code)).toEqual([
      'missing-report',
    ]);
    expect(r.alerts[0]).toMatchObject({
      lab: LAB,
      pause: PAUSE,
      finding: { subject: { node: 'n2' } },
    });
    // The same finding is not raised twice.
    await v.core.syncOnce();
    const again = await json(fetch(`${v.url}/v1/alerts?since=${r.last}`));
    expect(again.alerts).toEqual([]);
  });

  it('answers an ad hoc window with POST /v1/verify', async () => {
    const ok = await fetch(`${v.url}/v1/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        lab: LAB,
        pause: PAUSE,
        from: formatTime(T0),
        to: formatTime(T0 + 4 * INTERVAL),
      }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { verdict: string }).verdict).toBe('compliant');
    const bad = await fetch(`${v.url}/v1/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        lab: LAB,
        pause: PAUSE,
        from: formatTime(T0),
        to: formatTime(T0 + 6 * INTERVAL),
      }),
    });
    expect(((await bad.json()) as { verdict: string }).verdict).toBe('violation');
  });

  it('serves verdicts signed with its verifier key, which open to the unsigned verdict', async () => {
    const key = await json(fetch(`${v.url}/v1/verifier-key`));
    expect(key).toEqual({ vkey: verifierKey.vkey });
    const plain = await json(fetch(`${v.url}/v1/labs/${LAB}/pauses/${PAUSE}/verdict`));
    const signed = await json(fetch(`${v.url}/v1/labs/${LAB}/pauses/${PAUSE}/verdict/signed`));
    const opened = openSignedVerdict(signed, [parseVerifierKey(key.vkey)]);
    expect(opened.verdict).toEqual(plain);
    expect(() => openSignedVerdict(signed, [parseVerifierKey(testKey('other/v').vkey)])).toThrow(
      expect.objectContaining({ code: 'VERDICT_SIGNATURE_INVALID' }),
    );
    const q = { lab: LAB, pause: PAUSE, to: formatTime(T0 + 2 * INTERVAL) };
    const post = (path: string) =>
      json(
        fetch(`${v.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(q),
        }),
      );
    const adHoc = openSignedVerdict(
      await post('/v1/verify/signed'),
      [verifierKey.signer].map(verifierKeyOf),
    );
    expect(adHoc.verdict).toEqual(await post('/v1/verify'));
    expect(adHoc.verdict.window.to).toBe(q.to);
  });

  it('answers 404 problem+json for an unknown pause, 400 for a malformed question', async () => {
    const r = await fetch(`${v.url}/v1/labs/${LAB}/pauses/nope/verdict`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(((await r.json()) as { code: string }).code).toBe('PAUSE_NOT_FOUND');
    const q = await fetch(`${v.url}/v1/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lab: LAB, pause: PAUSE, from: 'yesterday' }),
    });
    expect(q.status).toBe(400);
    expect(((await q.json()) as { code: string }).code).toBe('QUESTION_INVALID');
  });

  it('publishes /openapi.json, /metrics and /healthz', async () => {
    const doc = await json(fetch(`${v.url}/openapi.json`));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/labs',
        '/v1/labs/{lab}/pauses/{id}/verdict',
        '/v1/verify',
        '/v1/alerts',
        '/v1/labs/{lab}/pauses/{id}/verdict/signed',
        '/v1/verify/signed',
        '/v1/verifier-key',
      ]),
    );
    const m = await (await fetch(`${v.url}/metrics`)).text();
    expect(m).toMatch(new RegExp(`vpause_verifier_log_size ${v.core.follower.size}`));
    expect(m).toMatch(/vpause_verifier_alerts_total\{code="missing-report"\} 1/);
    const h = await fetch(`${v.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true, size: v.core.follower.size });
  });
});

describe('a verifier service without a verifier key', () => {
  it('answers 404 VERIFIER_KEY_MISSING for signed verdicts and its key, and still answers verdicts', async () => {
    const w = await World.start();
    try {
      await w.honest(0, 1);
      const v = await startVerifier({
        policy: w.policy,
        logUrl: w.log.url,
        host: '127.0.0.1',
        port: 0,
        now: () => w.now * 1000,
        pollIntervalMs: 3_600_000,
        threads: 0,
      });
      try {
        for (const path of ['/v1/verifier-key', `/v1/labs/${LAB}/pauses/${PAUSE}/verdict/signed`]) {
          const r = await fetch(`${v.url}${path}`);
          expect(r.status).toBe(404);
          expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
          expect(((await r.json()) as { code: string }).code).toBe('VERIFIER_KEY_MISSING');
        }
        expect((await fetch(`${v.url}/v1/labs/${LAB}/pauses/${PAUSE}/verdict`)).status).toBe(200);
      } finally {
        await v.close();
      }
    } finally {
      await w.close();
    }
  }, 60_000);
});
