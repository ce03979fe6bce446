/**
 * Everything the dashboard shows from the log, the witnesses or the verifier is escaped: a
 * verifier stub serves hostile text in every field a page renders (lab name, pause id, finding
 * message, subject and data, evidence role, key IDs, witness names, checkpoint notes, alerts,
 * metrics labels, receipts), and no page may contain any of it as markup. Also: the pages still
 * render, and say so, when the log and the witnesses cannot be reached.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_TYPE } from '../../protocol/src/schemas.js';
import type { Finding, Verdict } from '../../protocol/src/verdict.js';
import { type DashboardCore, mountDashboard } from '../../src/dashboard/index.js';
import { LogIndex, type StatementRecord } from '../../src/verifier/log-index.js';
import type { Alert } from '../../src/verifier/service.js';
import type { ObservedCheckpoint } from '../../src/verifier/timeline.js';

const X = '<script>alert("x")</script>';
const LAB = 'evil<img src=x onerror=alert(1)>.example';
const PAUSE = 'p"><svg onload=alert(2)>';
const KEYID = '<b>k</b>+00000000';
const ROLE = '<i>role</i>';
const LEAF = 'ab'.repeat(32);
const T = Date.UTC(2026, 10, 27) / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** Markup that would run or render if any hostile value went through unescaped. */
const RAW = ['<script>alert', '<img src=x', '<svg onload', '<b>k</b>', '<i>role</i>', 'p"><svg'];

function hostileCore(): DashboardCore {
  const index = new LogIndex();
  const pause: StatementRecord = {
    index: 0,
    leafHash: LEAF,
    payloadType: PAYLOAD_TYPE.pause,
    payload: {
      v: 1,
      lab: LAB,
      id: PAUSE,
      start: iso(T),
      end: null,
      scope: ['*'],
      limits: { maxFlopPerDay: 1e21, allowedWorkloads: ['idle'] },
      reporting: { intervalSeconds: 300, maxDelaySeconds: 900 },
    } as unknown as StatementRecord['payload'],
    payloadHash: 'cd'.repeat(32),
    signatures: [{ keyid: KEYID, sig: 'AA==' }],
    valid: [],
    invalid: [],
  };
  index.add(pause);
  const finding: Finding = {
    code: 'energy-unexplained',
    severity: 'violation',
    message: X,
    subject: { facility: X, node: X },
    evidence: [{ index: 0, leafHash: LEAF, role: ROLE }],
    checkpoints: [{ origin: X, size: 1, rootHash: 'AA==' }],
    data: { note: X },
  };
  const verdict: Verdict = {
    v: 1,
    type: 'vpause-verdict',
    verdict: 'violation',
    lab: LAB,
    pause: PAUSE,
    window: { from: iso(T), to: iso(T + 600) },
    asOf: iso(T + 600),
    checkpoint: { origin: X, size: 1, rootHash: 'AA==', quorum: true, cosignedBy: [X] },
    findings: [finding],
    detection: {
      probability: 0.95,
      alpha: 0.01,
      minHiddenFlop: 1e18,
      minHiddenGpuHoursH100: 3,
      facilities: [
        {
          facility: X,
          intervals: 2,
          alpha: 0.01,
          alarm: true,
          minHiddenJ: 1,
          minHiddenGpuJ: 1,
          minHiddenGpuHoursH100: 1,
          minHiddenFlop: 1,
          statisticalJ: 1,
          pueSlackJ: 1,
        },
      ],
      unmetered: [X],
      assumptions: [X],
    },
    summary: {
      nodes: 1,
      intervals: 2,
      expectedReports: 2,
      reports: 2,
      pendingReports: 0,
      meterReadings: 2,
      statements: 5,
    },
  };
  const cp: ObservedCheckpoint = {
    note: `${X}\n1\nAAAA\n\n— ${X} sig\n`,
    origin: X,
    size: 1,
    rootHash: new Uint8Array(32),
    cosignatures: [{ witness: X, time: T + 10 }],
    quorum: true,
  };
  const alert: Alert = { id: 1, time: iso(T + 600), lab: LAB, pause: PAUSE, finding };
  return {
    labs: () => [
      { lab: LAB, pauses: [{ id: PAUSE, start: iso(T), end: null, index: 0, leafHash: LEAF }] },
    ],
    verdict: (lab, p) => {
      if (lab !== LAB || p !== PAUSE) throw new Error('no such pause');
      return verdict;
    },
    alerts: () => [alert],
    status: () => ({
      size: 1,
      checkpoint: { size: 1, quorum: true },
      lastSync: iso(T + 600),
      lastError: X,
      forks: 0,
    }),
    follower: {
      index,
      size: 1,
      anchor: () => cp,
      timeline: () => ({ witnessedAt: () => T + 10, quorumCheckpoint: () => cp }),
    },
  };
}

/** A log and witnesses that answer, with hostile text where they can put text. */
const hostileFetch: typeof fetch = async (input) => {
  const url = String(input);
  if (url.endsWith('/healthz')) return Response.json({ ok: true, treeSize: 1, name: X });
  if (url.endsWith('/metrics')) {
    return new Response(
      `vpause_log_witness_up{witness="${X.replaceAll('"', '\\"')}"} 1\nvpause_log_witnessed_size 1\n`,
    );
  }
  if (url.includes('/v1/receipt/')) return new Response(`c2sp.org/tlog-proof@v1\n${X}\n`);
  return new Response('not found', { status: 404 });
};

function app(fetchImpl: typeof fetch): OpenAPIHono {
  const a = new OpenAPIHono();
  mountDashboard(a, hostileCore(), {
    logUrl: 'http://log.invalid',
    witnessUrls: ['http://witness.invalid'],
    now: () => (T + 620) * 1000,
    fetch: fetchImpl,
  });
  return a;
}

const PAGES = [
  '/',
  `/labs/${encodeURIComponent(LAB)}`,
  `/labs/${encodeURIComponent(LAB)}/pauses/${encodeURIComponent(PAUSE)}`,
  '/evidence/0',
];

describe('hostile text from the log, the witnesses and the verifier', () => {
  for (const p of PAGES) {
    it(`is escaped on ${p.split('/').slice(0, 2).join('/') || '/'}`, async () => {
      const r = await app(hostileFetch).request(p);
      expect(r.status).toBe(200);
      const page = await r.text();
      for (const raw of RAW) expect(page, raw).not.toContain(raw);
      // the only script is the page's own
      expect(page.match(/<script\b/g)).toHaveLength(1);
      expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    });
  }

  it('is shown, escaped, in each place a page renders it', async () => {
    const a = app(hostileFetch);
    const overview = await (await a.request('/')).text();
    expect(overview).toContain('evil&lt;img src=x onerror=alert(1)&gt;.example');
    expect(overview).toContain('p&quot;&gt;&lt;svg onload=alert(2)&gt;');
    expect(overview).toContain(`data-witness="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"`);
    const evidence = await (await a.request('/evidence/0')).text();
    expect(evidence).toContain('<code class="keyid">&lt;b&gt;k&lt;/b&gt;+00000000</code>');
    const pause = await (
      await a.request(`/labs/${encodeURIComponent(LAB)}/pauses/${encodeURIComponent(PAUSE)}`)
    ).text();
    expect(pause).toContain('<td>&lt;i&gt;role&lt;/i&gt;</td>');
    // links are built from percent-encoded segments
    expect(pause).toContain(
      `href="/v1/labs/${encodeURIComponent(LAB)}/pauses/${encodeURIComponent(PAUSE)}/verdict"`,
    );
  });
});

describe('when the log and the witnesses cannot be reached', () => {
  const down: typeof fetch = async () => {
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
  };

  it('the overview still renders and says they are unreachable', async () => {
    const r = await app(down).request('/');
    expect(r.status).toBe(200);
    const page = await r.text();
    expect(page).toMatch(
      /<th>reachable<\/th><td><span class="down">no<\/span> <span class="small">connect ECONNREFUSED/,
    );
    expect(page).toMatch(
      /<span class="down">unreachable<\/span> <span class="small">connect ECONNREFUSED/,
    );
  });

  it('the evidence page still shows the entry, and says the receipt could not be fetched', async () => {
    const r = await app(down).request('/evidence/0');
    expect(r.status).toBe(200);
    const page = await r.text();
    expect(page).toContain(`<code class="leaf-hash">${LEAF}</code>`);
    expect(page).toContain('The log did not serve a receipt: connect ECONNREFUSED');
  });
});
