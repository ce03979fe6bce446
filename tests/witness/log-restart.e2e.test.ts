/**
 * A witnessed log persists the cosigned checkpoint it serves: after a restart with the witnesses
 * down it still serves that checkpoint (and never an unwitnessed newer one), and a second front
 * end on the same storage serves it too.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../src/note/keys.js';
import { openCheckpoint } from '../../src/tlog/checkpoint.js';
import { verifiedCosignatures } from '../../src/tlog/cosignature.js';
import { startTestLog, type TestLog, waitForSize } from '../helpers/log.js';
import { TestLab, testKey } from '../helpers/world.js';
import { type NetWitness, policyText, startWitnesses, tempFile } from './helpers.js';

const logKey = testKey('log-restart.example/log');
const lab = new TestLab('lab-r.example');

describe('a witnessed log restarted while its witnesses are down', () => {
  let ws: NetWitness[] = [];
  const logs: TestLog[] = [];
  afterAll(async () => {
    for (const l of logs) await l.close().catch(() => {});
    for (const w of ws) await w.stop();
  });

  it('serves the cosigned checkpoint it stored, and nothing newer until witnesses return', async () => {
    ws = await startWitnesses(3, [logKey.vkey]);
    const policy = tempFile('policy.txt', policyText(logKey.vkey, ws, 2));
    const data = mkdtempSync(join(tmpdir(), 'vpause-restart-'));
    const opts = { memory: false, data, witnessPolicy: policy };
    const first = await startTestLog(`lab ${lab.root.vkey}\n`, opts, logKey);
    logs.push(first);
    for (const n of ['n1', 'n2', 'n3']) {
      expect((await first.post('/v1/statements', lab.register(n).body)).status).toBe(200);
    }
    const served = await waitForSize(first.url, 3);
    await first.close();

    for (const w of ws) await w.stop();
    const second = await startTestLog(`lab ${lab.root.vkey}\n`, opts, logKey);
    logs.push(second);
    expect((await second.post('/v1/statements', lab.register('n4').body)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    const r = await fetch(`${second.url}/checkpoint`);
    expect(r.status).toBe(200);
    const note = await r.text();
    expect(note).toBe(served);
    const witnessKeys = ws.map((w) => parseVerifierKey(w.key.vkey));
    const opened = openCheckpoint(note, parseVerifierKey(logKey.vkey), witnessKeys);
    expect(opened.checkpoint.size).toBe(3);
    expect(
      verifiedCosignatures(opened.note, opened.note.text, witnessKeys).length,
    ).toBeGreaterThanOrEqual(2);

    for (const w of ws) await w.restart();
    await waitForSize(second.url, 4);
  }, 60_000);
});
