/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a running
 * stack: the demo deployment (log, three witnesses, two labs' nodes and meters, a verifier), with
 * the dashboard served over the demo verifier's state. Once lab B's pause is a violation: the
 * overview shows both labs and updates itself; lab B's page draws its timeline; its
 * energy-unexplained finding opens and leads to the evidence, whose entry, checkpoint and receipt
 * are the log's. Screenshots go to test-output/screenshots/.
 *
 * Needs /usr/bin/chromium (or VPAUSE_CHROMIUM): `.ci/run` installs Debian's chromium package.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verdict } from '../../protocol/src/verdict.js';
import { mountDashboard } from '../../src/dashboard/index.js';
import { type RunningDemo, startDemo } from '../../src/demo/demo.js';
import { parseVPausePolicy } from '../../src/policy/vpause-policy.js';
import { silentLogger } from '../../src/util/logger.js';
import { createVerifierApp } from '../../src/verifier/app.js';

const CHROMIUM = process.env.VPAUSE_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const SHOTS = resolve('test-output/screenshots');
const LAB_A = 'lab-a.example';
const LAB_B = 'lab-b.example';

/** The page's window as page.evaluate sees it (the tests compile without the DOM types). */
type Win = { getComputedStyle(e: unknown): { color: string }; marker?: number };

async function until<T>(what: string, ms: number, f: () => T | undefined): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${ms / 1000} s waiting for ${what}${last ? `: ${last}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

describe('the dashboard in chromium, against the running demo stack', () => {
  let demo: RunningDemo | undefined;
  let server: ReturnType<typeof serve> | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let base: string;
  let violation: Verdict;
  const dirs: string[] = [];
  /** console errors and uncaught exceptions (a CSP violation shows here) */
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `the browser tests need Debian's chromium at ${CHROMIUM} and it is missing: ` +
          'install it with `apt-get install -y chromium` (.ci/run does), or set VPAUSE_CHROMIUM',
      );
    }
    mkdirSync(SHOTS, { recursive: true });
    const data = mkdtempSync(join(tmpdir(), 'vpause-browser-demo-'));
    dirs.push(data);
    demo = await startDemo({ data, logger: silentLogger(), say: () => {} });
    const core = demo.verifier.core;
    const policyFile = join(data, 'verifier-policy.txt');
    const policy = parseVPausePolicy(readFileSync(policyFile, 'utf8'), { file: policyFile });
    const app = createVerifierApp(core);
    mountDashboard(app, core, { logUrl: demo.log.url, policy });
    server = await new Promise<ReturnType<typeof serve>>((ok, fail) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => ok(s));
      s.once('error', fail);
    });
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;

    // The demo's cheat shows once the meter has seen enough of lab B's hidden cluster.
    violation = await until(`${LAB_B}'s verdict to become a violation`, 100_000, () => {
      const v = core.verdict(LAB_B, demo!.pauses[LAB_B]!);
      return v.verdict === 'violation' && v.findings.some((f) => f.code === 'energy-unexplained')
        ? v
        : undefined;
    });

    const profile = mkdtempSync(join(tmpdir(), 'vpause-chromium-profile-'));
    dirs.push(profile);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1100, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await demo?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('shows both labs, lab B as a violation, with log and witness health, and updates itself', async () => {
    await page.goto(`${base}/`);
    await expect
      .poll(() => page.locator(`tr.lab-row[data-lab="${LAB_A}"]`).count())
      .toBeGreaterThan(0);
    const b = page.locator(`tr.lab-row[data-lab="${LAB_B}"]`);
    await expect.poll(() => b.getAttribute('data-verdict')).toBe('violation');
    expect(await b.locator('.badge.verdict').textContent()).toBe('violation');
    expect(
      await b
        .locator('.badge.verdict')
        .evaluate((e) => (globalThis as unknown as Win).getComputedStyle(e).color),
    ).toBe('rgb(185, 28, 28)');
    // all three witnesses, as the log sees them
    await expect
      .poll(() => page.locator('tr.witness[data-up="true"]').count(), { timeout: 15_000 })
      .toBe(3);
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });

    // live: the page fetches its main part again and shows the log growing, without a reload
    const verified = () =>
      page
        .locator('#verifier tr', { hasText: 'entries verified' })
        .locator('td')
        .textContent()
        .then(Number);
    const before = await verified();
    // a marker on the window survives only if the page is not reloaded
    await page.evaluate(() => {
      (globalThis as unknown as Win).marker = 1;
    });
    await expect.poll(verified, { timeout: 40_000, interval: 1_000 }).toBeGreaterThan(before);
    expect(await page.evaluate(() => (globalThis as unknown as Win).marker)).toBe(1);
    expect(Number(await page.locator('body').getAttribute('data-refreshes'))).toBeGreaterThan(0);
  }, 60_000);

  it("opens lab B's timeline and its energy-unexplained finding, and follows it to the evidence", async () => {
    await page.goto(`${base}/`);
    await page.locator(`tr.lab-row[data-lab="${LAB_B}"] a[href="/labs/${LAB_B}"]`).click();
    await page.waitForURL(`${base}/labs/${LAB_B}`);
    expect(await page.locator('h1').textContent()).toBe(LAB_B);
    await page.locator('#chart-compute svg').waitFor();
    await page.locator('#chart-energy-fb svg').waitFor();
    expect(await page.locator('#chart-energy-fb').textContent()).toContain('meter energy');
    const finding = page.locator('a.finding-link[data-code="energy-unexplained"]').first();
    await finding.waitFor();
    await page.screenshot({ path: join(SHOTS, 'lab-b.png'), fullPage: true });

    // the finding, on its pause's page
    await finding.click();
    const k = violation.findings.findIndex((f) => f.code === 'energy-unexplained');
    await page.waitForURL(/\/labs\/lab-b\.example\/pauses\/pause-\d+#finding-\d+$/);
    const article = page.locator('article.finding[data-code="energy-unexplained"]');
    await article.waitFor();
    expect(await article.locator('.message').textContent()).toMatch(
      /^facility fb: the meters recorded .* J more than the reports explain/,
    );
    expect(await page.locator('#detection').textContent()).toContain('the physics check detects');
    await page.screenshot({ path: join(SHOTS, 'finding.png'), fullPage: true });

    // … and its first evidence item
    const first = violation.findings[k]!.evidence[0]!;
    const link = article.locator('a.evidence-link').first();
    const href = await link.getAttribute('href');
    const index = Number(/^\/evidence\/(\d+)$/.exec(href ?? '')?.[1]);
    expect(Number.isSafeInteger(index)).toBe(true);
    await link.click();
    await page.waitForURL(`${base}/evidence/${index}`);
    expect(await page.locator('h1').textContent()).toBe(`Log entry #${index}`);
    const leaf = await page.locator('code.leaf-hash').textContent();
    // the leaf hash shown is the one the finding cites (for its first item) …
    if (index === first.index) expect(leaf).toBe(first.leafHash);
    // … and the one of the log's raw entry that the page links to
    const raw = await page.locator('a#raw-entry').getAttribute('href');
    expect(raw).toBe(`${demo!.log.url}/v1/entries/${index}`);
    const entry = new Uint8Array(await (await fetch(raw!)).arrayBuffer());
    const hash = createHash('sha256')
      .update(Buffer.from([0]))
      .update(entry)
      .digest('hex');
    expect(leaf).toBe(hash);
    expect(await page.locator('#payload').textContent()).toContain('"energyJ"');
    // covered by a checkpoint with a 2-of-3 witness quorum, with cosignature times
    const covering = page.locator('#covering-checkpoint');
    expect(await covering.textContent()).toContain('met');
    expect(await covering.locator('table.cosignatures tr').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#receipt pre').textContent()).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
    expect(await page.locator('#receipt .receipt-check').textContent()).toMatch(
      /^verified against the policy: the entry is in the log's checkpoint of size \d+/,
    );
    expect(await page.locator('#cited-by').textContent()).toContain('energy-unexplained');
    await page.screenshot({ path: join(SHOTS, 'finding-evidence.png'), fullPage: true });
  }, 60_000);

  it('ran every page without a script error or a blocked resource (CSP)', () => {
    expect(errors).toEqual([]);
  });
});
