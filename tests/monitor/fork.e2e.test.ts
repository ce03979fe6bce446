/**
 * End to end: two logs sharing one key but diverging. Log A publishes a history its witnesses
 * cosign; log B, with the same key and other entries, is refused by the witnesses (it never gets
 * a quorum, so with the witness policy it serves nothing). Served without the policy, B's
 * checkpoint is what a split-view attack would show a victim: the monitor, following B and
 * reading the witnesses' views (or its own state from A), writes fork evidence, and a separate
 * check (library and CLI) confirms it from the policy alone.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkForkEvidence } from '../../src/monitor/evidence.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { parseTlogPolicy } from '../../src/policy/tlog-policy.js';
import { silentLogger } from '../../src/util/logger.js';
import { originHash } from '../../src/witness/protocol.js';
import { startWitness } from '../../src/witness/server.js';
import { startTestLog, type TestLog, waitForSize } from '../helpers/log.js';
import { runVpause } from '../helpers/proc.js';
import { TestLab, testKey } from '../helpers/world.js';
import {
  addCheckpoint,
  FakeLog,
  type NetWitness,
  policyText,
  startWitnesses,
  tempFile,
} from '../witness/helpers.js';

const logKey = testKey('log.example/log');
const lab = new TestLab('lab-a.example');
const ADMIT = `lab ${lab.root.vkey}\n`;

async function add(t: TestLog, nodes: string[]): Promise<void> {
  for (const n of nodes) {
    const r = await t.post('/v1/statements', lab.register(n).body);
    expect(r.status).toBe(200);
  }
}

async function integrated(t: TestLog, size: number): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    const h = (await (await fetch(`${t.url}/healthz`)).json()) as { treeSize: number };
    if (h.treeSize >= size) return;
    if (Date.now() > until) throw new Error(`log did not integrate ${size}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function witnessSize(w: NetWitness): Promise<number> {
  const r = await fetch(`${w.url}/${originHash('log.example/log')}/checkpoint`);
  return r.ok ? Number((await r.text()).split('\n')[1]) : 0;
}

describe('two logs sharing one key but diverging', () => {
  let ws: NetWitness[];
  let policyFile: string;
  let policy: ReturnType<typeof parseTlogPolicy>;
  let a: TestLog;
  let b: TestLog | undefined;
  const bDir = mkdtempSync(join(tmpdir(), 'vpause-log-b-'));
  const evidenceDir = mkdtempSync(join(tmpdir(), 'vpause-evidence-'));
  const stateFile = join(mkdtempSync(join(tmpdir(), 'vpause-monitor-')), 'state.json');

  beforeAll(async () => {
    ws = await startWitnesses(3, [logKey.vkey]);
    const text = policyText(logKey.vkey, ws, 2);
    policy = parseTlogPolicy(text);
    policyFile = tempFile('policy.txt', text);
    a = await startTestLog(ADMIT, { witnessPolicy: policyFile }, logKey);
    await add(a, ['n1', 'n2', 'n3']);
    await waitForSize(a.url, 3);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    for (const w of ws ?? []) await w.stop();
  });

  describe('when a monitor follows the honest log A', () => {
    it('reports it consistent with the witnesses and cosigned to quorum, and keeps its state', async () => {
      const m = new Monitor({ policy, logUrl: a.url, statePath: stateFile, evidenceDir });
      const r = await m.checkOnce();
      expect(r).toMatchObject({ status: 'ok', size: 3, quorum: true });
      expect(r.witnesses.map((w) => w.status)).toEqual(
        expect.arrayContaining(['consistent', 'consistent']),
      );
      expect(
        r.witnesses.every((w) => w.status === 'consistent' || w.status === 'not-cosigned'),
      ).toBe(true);
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({
        origin: 'log.example/log',
      });
    });
  });

  describe('when log B, with the same key, sends its other history to the witnesses', () => {
    it('is refused: B serves no checkpoint and the witnesses keep A’s history', async () => {
      b = await startTestLog(
        ADMIT,
        { memory: false, data: bDir, witnessPolicy: policyFile },
        logKey,
      );
      await add(b, ['x1', 'x2', 'x3', 'x4', 'x5']);
      await integrated(b, 5);
      await new Promise((r) => setTimeout(r, 500));
      expect((await fetch(`${b.url}/checkpoint`)).status).toBe(404);
      for (const w of ws) expect(await witnessSize(w)).toBe(3);
      const m = await (await fetch(`${b.url}/metrics`)).text();
      expect(m).toMatch(
        /vpause_log_witness_failures_total\{witness="w1",reason="http_422"\} [1-9]/,
      );
      await b.close();
      b = undefined;
    });
  });

  describe('when B is served without witnesses (a split view) and a monitor follows it', () => {
    let evidencePath: string;

    it('writes fork evidence from the witnesses’ view of A (size 3) against B (size 5)', async () => {
      b = await startTestLog(ADMIT, { memory: false, data: bDir }, logKey);
      await waitForSize(b.url, 5);
      const m = new Monitor({ policy, logUrl: b.url, evidenceDir });
      const r = await m.checkOnce();
      expect(r.status).toBe('fork');
      expect(r.quorum).toBe(false);
      expect(r.evidence).toMatchObject({ kind: 'inconsistent' });
      expect(r.evidence!.a.source).toMatch(/^witness /);
      expect(Number(r.evidence!.a.checkpoint.split('\n')[1])).toBe(3);
      expect(Number(r.evidence!.b.checkpoint.split('\n')[1])).toBe(5);
      evidencePath = r.evidencePath!;
      expect(readdirSync(evidenceDir)).toContain(evidencePath.split('/').at(-1));
    });

    it('has evidence that a separate check confirms from the policy alone', () => {
      const v = checkForkEvidence(JSON.parse(readFileSync(evidencePath, 'utf8')), policy);
      expect(v).toMatchObject({ confirmed: true, code: 'FORK_CONFIRMED', logKey: logKey.vkey });
    });

    it('writes fork evidence from its own state (A at 3), without asking any witness', async () => {
      const m = new Monitor({
        policy,
        logUrl: b!.url,
        witnessUrls: [],
        statePath: stateFile,
        evidenceDir,
      });
      const r = await m.checkOnce();
      expect(r.status).toBe('fork');
      expect(r.evidence!.a.source).toMatch(/^state |^log /);
      expect(checkForkEvidence(r.evidence, policy).code).toBe('FORK_CONFIRMED');
      // The state still holds A's checkpoint: evidence never overwrites it.
      expect(JSON.parse(readFileSync(stateFile, 'utf8')).checkpoint).toContain('\n3\n');
    });

    it('writes same-size evidence once A has also reached size 5', async () => {
      await add(a, ['n4', 'n5']);
      await waitForSize(a.url, 5);
      const until = Date.now() + 10_000;
      while ((await Promise.all(ws.map(witnessSize))).filter((s) => s === 5).length < 2) {
        if (Date.now() > until) throw new Error('witnesses did not reach 5');
        await new Promise((r) => setTimeout(r, 20));
      }
      const m = new Monitor({ policy, logUrl: b!.url, evidenceDir });
      const r = await m.checkOnce();
      expect(r.status).toBe('fork');
      expect(r.evidence!.kind).toBe('same-size');
      expect(checkForkEvidence(r.evidence, policy).code).toBe('FORK_CONFIRMED');
    });

    it('reports A consistent with the monitor state it left at size 3, and moves the state to 5', async () => {
      const m = new Monitor({ policy, logUrl: a.url, statePath: stateFile, evidenceDir });
      const r = await m.checkOnce();
      expect(r).toMatchObject({
        status: 'ok',
        size: 5,
        previous: { size: 3, status: 'consistent' },
      });
      expect(JSON.parse(readFileSync(stateFile, 'utf8')).checkpoint).toContain('\n5\n');
    });

    it('reports a witness view beyond what the log can prove as unresolved, not as a fork', async () => {
      // A witness that cosigned size 9 of this log key, a size A has not reached.
      const ahead = await startWitness({
        memory: true,
        host: '127.0.0.1',
        port: 0,
        key: testKey('witness-ahead.example/w', true).signer,
        logs: [logKey.vkey],
        logger: silentLogger(),
      });
      try {
        const nine = new FakeLog(logKey.signer).append(9, 'elsewhere');
        expect((await addCheckpoint(ahead.url, nine.request(0))).status).toBe(200);
        const m = new Monitor({ policy, logUrl: a.url, witnessUrls: [ahead.url], evidenceDir });
        const r = await m.checkOnce();
        expect(r.status).toBe('ok');
        expect(r.witnesses).toEqual([expect.objectContaining({ status: 'unresolved', size: 9 })]);
        expect(r.warnings.some((w) => w.includes('no consistency proof 5 → 9'))).toBe(true);
      } finally {
        await ahead.close();
      }
    });

    it('CLI: `vpause monitor --once` exits 3 and `vpause monitor check-evidence` confirms (exit 0)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vpause-evidence-cli-'));
      const run = await runVpause([
        'monitor',
        '--policy',
        policyFile,
        '--log',
        b!.url,
        '--once',
        '--evidence',
        dir,
      ]);
      expect(run.code, run.stderr).toBe(3);
      expect(run.stdout).toMatch(/^FORK: log\.example\/log size 5/m);
      const [file] = readdirSync(dir);
      const check = await runVpause([
        'monitor',
        'check-evidence',
        join(dir, file!),
        '--policy',
        policyFile,
      ]);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toMatch(/^confirmed: the log signed two roots for tree size 5/);
    }, 60_000);

    it('CLI: check-evidence exits 1 for evidence whose checkpoints are consistent', async () => {
      const e = JSON.parse(readFileSync(evidencePath, 'utf8'));
      e.a = e.b;
      const file = tempFile('consistent.json', JSON.stringify(e));
      const check = await runVpause(['monitor', 'check-evidence', file, '--policy', policyFile]);
      expect(check.code).toBe(1);
      expect(check.stderr).toMatch(/not confirmed \(EVIDENCE_CONSISTENT\)/);
    }, 60_000);
  });
});
