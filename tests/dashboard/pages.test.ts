/**
 * The dashboard's pages, in process with app.request(), over a real log and a real verifier
 * core: one lab whose facility meter sees a hidden cluster from interval 4 on (so its pause
 * becomes a violation with energy-unexplained), two witnesses, and a simulator reports folder.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verdict } from '../../protocol/src/verdict.js';
import { mountDashboard } from '../../src/dashboard/index.js';
import { checkReceipt } from '../../src/dashboard/receipt.js';
import { labTimeline } from '../../src/dashboard/timeline.js';
import { createVerifierApp } from '../../src/verifier/app.js';
import type { MeterRecord } from '../../src/verifier/log-index.js';
import { VerifierCore } from '../../src/verifier/service.js';
import { IDLE_J, INTERVAL, LAB, PAUSE, World } from '../verifier-e2e/world.js';

const HIDDEN_J = 32 * 632 * INTERVAL; // 32 H100 training, unreported
const HONEST = 4;
const CHEAT = 4;

/** `href="…"` values of the page. */
function hrefs(page: string): string[] {
  return [...page.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
}

describe('the dashboard over a live log and verifier', () => {
  let w: World;
  let core: VerifierCore;
  let app: OpenAPIHono;
  let verdict: Verdict;
  const reports = mkdtempSync(join(tmpdir(), 'vpause-dash-sim-'));
  const get = (p: string) => app.request(p);

  beforeAll(async () => {
    mkdirSync(join(reports, 'hidden-cluster'), { recursive: true });
    writeFileSync(
      join(reports, 'hidden-cluster', 'report.html'),
      '<!doctype html><p>sim report</p>',
    );
    writeFileSync(join(reports, 'secret.txt'), 'not a report');
    w = await World.start({ nodes: ['n1', 'n2'] });
    core = new VerifierCore({
      policy: w.policy,
      logUrl: w.log.url,
      now: () => w.now * 1000,
      threads: 0,
      pollIntervalMs: 3_600_000,
    });
    w.afterSync = () => core.syncOnce();
    await core.syncOnce();
    await w.honest(0, HONEST);
    for (let k = HONEST; k < HONEST + CHEAT; k++) await w.interval(k, { hiddenGpuJ: HIDDEN_J });
    app = createVerifierApp(core);
    mountDashboard(app, core, {
      logUrl: w.log.url,
      policy: w.policy,
      simReportsDir: reports,
      now: () => w.now * 1000,
    });
    verdict = core.verdict(LAB, PAUSE);
  }, 90_000);
  afterAll(async () => {
    await core?.close();
    await w?.close();
  });

  it('the scenario is what the pages are checked against: a violation with energy-unexplained', () => {
    expect(verdict.verdict).toBe('violation');
    expect(verdict.findings.map((f) => f.code)).toContain('energy-unexplained');
  });

  describe('GET / (and /dashboard)', () => {
    it('lists the lab and its pause with the verdict, coloured as a violation', async () => {
      const r = await get('/');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await r.text();
      expect(page).toMatch(
        /<tr class="lab-row" data-lab="lab-a\.example" data-pause="pause-1" data-verdict="violation">/,
      );
      expect(page).toContain('<span class="badge verdict v-violation">violation</span>');
      expect(hrefs(page)).toEqual(
        expect.arrayContaining(['/labs/lab-a.example', '/labs/lab-a.example/pauses/pause-1']),
      );
      expect(page).toContain(
        `<td class="num">${verdict.summary.reports}<div class="small muted">${verdict.summary.expectedReports} due</div></td>`,
      );
    });

    it('shows the log and witness health: tree size, quorum and each cosignature', async () => {
      const page = await (await get('/')).text();
      const anchor = core.follower.anchor()!;
      expect(anchor.quorum).toBe(true);
      expect(page).toContain(`<tr><th>entries verified</th><td>${core.follower.size}</td></tr>`);
      expect(page).toMatch(/<tr><th>reachable<\/th><td><span class="up">yes<\/span>/);
      expect(page).toContain(`<tr><th>tree size</th><td>${core.follower.size}</td></tr>`);
      for (const c of anchor.cosignatures) {
        expect(page).toContain(`data-witness="${c.witness}"`);
        expect(page).toContain(new Date(c.time * 1000).toISOString().replace('.000Z', 'Z'));
      }
      expect(anchor.cosignatures.map((c) => c.witness).sort()).toEqual(['w0', 'w1']);
    });

    it('lists the alerts raised, newest first, and links to simulator reports', async () => {
      const page = await (await get('/')).text();
      const alerts = core.alerts();
      expect(alerts.some((a) => a.finding.code === 'energy-unexplained')).toBe(true);
      const ids = [...page.matchAll(/<tr class="alert">\s*<td class="num">(\d+)<\/td>/g)].map((m) =>
        Number(m[1]),
      );
      expect(ids).toEqual(
        alerts
          .map((a) => a.id)
          .reverse()
          .slice(0, 20),
      );
      expect(page).toContain('<code>energy-unexplained</code>');
      expect(hrefs(page)).toContain('/sim-reports/hidden-cluster/report.html');
      expect(page).not.toContain('secret.txt');
    });

    it('serves the same page at /dashboard, and only its main part with ?part=main', async () => {
      const full = await (await get('/dashboard')).text();
      expect(full).toContain('data-verdict="violation"');
      const part = await (await get('/?part=main')).text();
      expect(part).toContain('data-verdict="violation"');
      expect(part).not.toContain('<html');
      expect(part).not.toContain('<script');
    });

    it('runs only its own script: the CSP nonce is the script’s, and differs per response', async () => {
      const a = await get('/');
      const b = await get('/');
      const nonce = /script-src 'nonce-([^']+)'/.exec(
        a.headers.get('content-security-policy')!,
      )![1]!;
      const other = /script-src 'nonce-([^']+)'/.exec(
        b.headers.get('content-security-policy')!,
      )![1]!;
      expect(nonce).not.toBe(other);
      const page = await a.text();
      expect([...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([
        `<script nonce="${nonce}">`,
      ]);
      expect(page).toContain("searchParams.set('part', 'main')");
    });
  });

  describe('GET /labs/:lab', () => {
    it('draws the compute and facility charts as SVG, with the PUE band and the limit', async () => {
      const r = await get(`/labs/${LAB}`);
      expect(r.status).toBe(200);
      const page = await r.text();
      expect(page).toMatch(/<div class="chart" id="chart-compute"><svg /);
      expect(page).toMatch(/<div class="chart" id="chart-energy-f1"><svg /);
      expect(page).toContain('expected at PUE 1.1–1.4 + baseline');
      expect(page).toContain('limit (maxFlopPerDay × 300 s / 1 day)');
      expect(page).toContain('meter energy (m1)');
      expect(page).toContain(`${HONEST + CHEAT} interval(s) of 300 s`);
    });

    it('counts the intervals more than 3σ above the band: exactly the hidden-cluster ones', async () => {
      const page = await (await get(`/labs/${LAB}`)).text();
      const row = /<table class="totals">[\s\S]*?<\/table>/.exec(page)![0];
      expect(row).toContain(`${CHEAT} interval(s) above the band by &gt; 3σ`);
      expect(row).toContain(`${HONEST + CHEAT} interval(s) with reports and meter readings`);
    });

    it('charts what was logged: each meter reading, the reports, and the PUE band around them', () => {
      const t = labTimeline({
        lab: LAB,
        index: core.follower.index,
        pause: core.follower.index.labs.get(LAB)!.pauses[0]!.payload,
        policy: w.policy,
        now: w.now,
      });
      const readings = core.follower.index.meters.get('f1')!;
      const f = t.facilities[0]!;
      expect(t.authenticated).toBe(true);
      expect(t.inauthentic).toBe(0);
      expect(f.meterJ).toEqual(readings.map((m) => m.payload.energyJ));
      expect(f.gpuJ).toEqual(readings.map(() => 2 * IDLE_J));
      const baseline = 150_000 * INTERVAL;
      expect(f.expectedMinJ).toEqual(readings.map(() => 1.1 * 2 * IDLE_J + baseline));
      expect(f.expectedMaxJ).toEqual(readings.map(() => 1.4 * 2 * IDLE_J + baseline));
      // only the hidden cluster's intervals lie far above the band
      const above = f.meterJ.map((m, j) => m! - f.expectedMaxJ[j]! > 3 * 0.01 * f.expectedMaxJ[j]!);
      expect(above).toEqual([...Array(HONEST).fill(false), ...Array(CHEAT).fill(true)]);
    });

    it('lists the pause with its verdict and links each finding to its place on the pause page', async () => {
      const page = await (await get(`/labs/${LAB}`)).text();
      expect(page).toContain('<div class="pause" data-pause="pause-1" data-verdict="violation">');
      const k = verdict.findings.findIndex((f) => f.code === 'energy-unexplained');
      expect(page).toContain(
        `<a class="finding-link" data-code="energy-unexplained" href="/labs/lab-a.example/pauses/pause-1#finding-${k}">`,
      );
      const first = verdict.findings[k]!.evidence[0]!;
      expect(hrefs(page)).toContain(`/evidence/${first.index}`);
    });

    it('answers 404 with an HTML page for a lab the policy does not name', async () => {
      const r = await get('/labs/lab-z.example');
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await r.text()).toContain('The policy names no lab lab-z.example.');
    });
  });

  describe('GET /labs/:lab/pauses/:id', () => {
    it('shows the verdict, the detection bound and every finding with its severity', async () => {
      const r = await get(`/labs/${LAB}/pauses/${PAUSE}`);
      expect(r.status).toBe(200);
      const page = await r.text();
      expect(page).toContain('<span class="badge verdict v-violation">violation</span>');
      expect(page).toContain('<h2>Detection bound</h2>');
      expect(page).toContain(`With probability ${verdict.detection!.probability}`);
      verdict.findings.forEach((f, k) => {
        expect(page).toContain(
          `<article class="finding sev-${f.severity}" id="finding-${k}" data-code="${f.code}">`,
        );
      });
    });

    it('links every evidence item of a finding to /evidence/:index', async () => {
      const page = await (await get(`/labs/${LAB}/pauses/${PAUSE}`)).text();
      const f = verdict.findings.find((x) => x.code === 'energy-unexplained')!;
      expect(f.evidence.length).toBeGreaterThan(0);
      for (const e of f.evidence) {
        expect(page).toContain(
          `<a class="evidence-link" href="/evidence/${e.index}">entry #${e.index}</a>`,
        );
        expect(page).toContain(`<code>${e.leafHash}</code>`);
      }
    });

    it('answers 404 for a pause the lab did not declare, and for an unknown lab', async () => {
      expect((await get(`/labs/${LAB}/pauses/pause-9`)).status).toBe(404);
      expect((await get('/labs/lab-z.example/pauses/pause-1')).status).toBe(404);
    });
  });

  describe('GET /evidence/:index', () => {
    it('shows a cited meter reading: payload, signer, leaf hash, links, checkpoint and receipt', async () => {
      const f = verdict.findings.find((x) => x.code === 'energy-unexplained')!;
      const item = f.evidence.find((e) => e.role === 'meter')!;
      const rec = core.follower.index.meters
        .get('f1')!
        .find((m) => m.index === item.index) as MeterRecord;
      const r = await get(`/evidence/${item.index}`);
      expect(r.status).toBe(200);
      const page = await r.text();
      expect(page).toContain(`<code class="leaf-hash">${item.leafHash}</code>`);
      expect(page).toContain('<code>application/vnd.vpause.meter+json</code>');
      expect(page).toContain(`<code class="keyid">${rec.signatures[0]!.keyid}</code>`);
      expect(page).toContain(`&quot;energyJ&quot;: ${rec.payload.energyJ}`);
      expect(page).toContain('<tr><th>authentic</th><td><span class="up">yes</span></td></tr>');
      expect(hrefs(page)).toEqual(
        expect.arrayContaining([
          `${w.log.url}/v1/entries/${item.index}`,
          `${w.log.url}/v1/receipt/${item.index}`,
        ]),
      );
      const covering = core.follower.timeline().quorumCheckpoint(item.index)!;
      expect(covering.size).toBeGreaterThan(item.index);
      expect(page).toContain(`<tr><th>tree size</th><td>${covering.size}</td></tr>`);
      for (const c of covering.cosignatures) expect(page).toContain(`<tr><td>${c.witness}</td>`);
      expect(page).toContain('c2sp.org/tlog-proof@v1');
      expect(page).toMatch(
        /<p class="receipt-check"><span class="up">verified<\/span> against the policy: the entry is in the log's checkpoint of size \d+, cosigned by w0, w1 \(quorum <span class="up">met<\/span>\)/,
      );
      const k = verdict.findings.indexOf(f);
      expect(hrefs(page)).toContain(`/labs/${LAB}/pauses/${PAUSE}#finding-${k}`);
    });

    it('checks receipts against the policy: the entry, its leaf hash and the signed checkpoint', async () => {
      const u = core.follower.index.labs.get(LAB)!.usage.get('f1/c1/n1')![0]!;
      const receipt = await (await fetch(`${w.log.url}/v1/receipt/${u.index}`)).text();
      expect(checkReceipt(receipt, u.index, u.leafHash, w.policy)).toEqual({
        ok: true,
        size: expect.any(Number),
        quorum: true,
        cosignedBy: ['w0', 'w1'],
      });
      const wrongLeaf = checkReceipt(receipt, u.index, 'ff'.repeat(32), w.policy);
      expect(wrongLeaf.ok).toBe(false);
      expect(checkReceipt(receipt, u.index + 1, u.leafHash, w.policy)).toEqual({
        ok: false,
        reason: `the receipt is for entry ${u.index}, not ${u.index + 1}`,
      });
      const forged = receipt.replace(
        /^— log\.example\/log .*$/m,
        '— log.example/log AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==',
      );
      expect(forged).not.toBe(receipt);
      expect(checkReceipt(forged, u.index, u.leafHash, w.policy)).toMatchObject({ ok: false });
    });

    it('shows a usage report as authentic, with the lab it speaks for', async () => {
      const u = core.follower.index.labs.get(LAB)!.usage.get('f1/c1/n1')![0]!;
      const page = await (await get(`/evidence/${u.index}`)).text();
      expect(page).toContain('<tr><th>kind</th><td>usage report</td></tr>');
      expect(page).toContain(`<a href="/labs/${LAB}">${LAB}</a>`);
      expect(page).toContain('<tr><th>authentic</th><td><span class="up">yes</span></td></tr>');
      expect(page).toContain(`&quot;energyJ&quot;: ${IDLE_J}`);
    });

    it('answers 404 for an index beyond the verified log, and for one that is not a number', async () => {
      for (const p of [
        `/evidence/${core.follower.size}`,
        '/evidence/-1',
        '/evidence/1e3',
        '/evidence/01',
      ]) {
        const r = await get(p);
        expect(r.status, p).toBe(404);
        expect(await r.text()).toContain('The verifier has verified no log entry');
      }
    });
  });

  describe('GET /sim-reports/*', () => {
    it('serves a listed report.html, sandboxed', async () => {
      const r = await get('/sim-reports/hidden-cluster/report.html');
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('sim report');
      expect(r.headers.get('content-security-policy')).toContain('sandbox');
    });

    it('serves nothing else: no other file, no path outside the folder', async () => {
      for (const p of [
        '/sim-reports/secret.txt',
        '/sim-reports/..%2Fsecret.txt',
        '/sim-reports/hidden-cluster/..%2F..%2F..%2Fetc%2Fpasswd',
        '/sim-reports/%E0%A4%A',
      ]) {
        expect((await get(p)).status, p).toBe(404);
      }
    });
  });
});
