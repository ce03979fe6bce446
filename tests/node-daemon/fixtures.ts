/**
 * Shared fixtures of the node, meter and lab tests: a world of keys, an in-process log that
 * admits them, node and meter configurations, and log read-back through the tiles client.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { nodeConfigSchema } from '../../nodes/daemon/config.js';
import { verifyReceipt } from '../../nodes/daemon/log-client.js';
import type { NodeStartConfig } from '../../nodes/daemon/node.js';
import type { Outbox } from '../../nodes/daemon/outbox.js';
import { meterConfigSchema } from '../../nodes/meter/config.js';
import type { MeterStartConfig } from '../../nodes/meter/meter.js';
import {
  PAYLOAD_TYPE,
  type ParsedStatement,
  parseEntry,
  payloadHash,
  ZERO_HASH,
} from '../../protocol/src/index.js';
import { TlogClient } from '../../src/client/tlog-client.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { startTestLog, type TestLog } from '../helpers/log.js';
import { type TestKey, testKey } from '../helpers/world.js';

export const LAB = 'lab-a.example';

export interface World {
  labKey: TestKey;
  meterKey: TestKey;
  verifierKey: TestKey;
  otherVerifierKey: TestKey;
  nodeKeys: Record<string, TestKey>;
  admit: string;
}

export function world(nodes: readonly string[] = ['n1', 'n2', 'n3']): World {
  const labKey = testKey(`${LAB}/root`);
  const meterKey = testKey('meter.f1.example/m1');
  return {
    labKey,
    meterKey,
    verifierKey: testKey('verifier.example/audit'),
    otherVerifierKey: testKey('stranger.example/audit'),
    nodeKeys: Object.fromEntries(nodes.map((n) => [n, testKey(`${LAB}/${n}`)])),
    admit: `lab ${labKey.vkey}\nmeter f1 ${meterKey.vkey}\n`,
  };
}

export function tmp(prefix = 'vpause-node-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startWorldLog(w: World): Promise<TestLog> {
  return startTestLog(w.admit);
}

/** A node configuration with the schema's defaults, for in-process nodes. */
export function nodeConfig(
  over: Record<string, unknown> & {
    node: string;
    key: TestKey;
    logUrl: string;
    logKey: TestKey;
    outbox: string;
    collector: Record<string, unknown>;
  },
): NodeStartConfig {
  const { node, key, logUrl, logKey, outbox, collector, ...rest } = over;
  const parsed = nodeConfigSchema.parse({
    identity: { lab: LAB, facility: 'f1', cluster: 'c1', node },
    key: 'unused',
    log: { url: logUrl, key: logKey.vkey },
    outbox,
    collector,
    submit: { minBackoffMs: 50, maxBackoffMs: 500, receiptPollMs: 20, maxReceiptPollMs: 200 },
    ...rest,
  });
  return { ...parsed, key: key.signer, log: { ...parsed.log, key: parseVerifierKey(logKey.vkey) } };
}

export function meterConfig(
  over: Record<string, unknown> & {
    key: TestKey;
    logUrl: string;
    logKey: TestKey;
    outbox: string;
    source: Record<string, unknown>;
  },
): MeterStartConfig {
  const { key, logUrl, logKey, outbox, source, ...rest } = over;
  const parsed = meterConfigSchema.parse({
    identity: { facility: 'f1', meter: 'm1' },
    key: 'unused',
    log: { url: logUrl, key: logKey.vkey },
    outbox,
    source,
    submit: { minBackoffMs: 50, maxBackoffMs: 500, receiptPollMs: 20, maxReceiptPollMs: 200 },
    ...rest,
  });
  return { ...parsed, key: key.signer, log: { ...parsed.log, key: parseVerifierKey(logKey.vkey) } };
}

/** Polls `cond` every 20 ms until it holds. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every entry of the log, read and checked through the tlog-tiles client, parsed. */
export async function readLog(url: string, logKey: TestKey): Promise<ParsedStatement[]> {
  const client = new TlogClient({ url, logKey: parseVerifierKey(logKey.vkey) });
  const cp = await client.checkpoint();
  const size = cp.checkpoint.size;
  await client.verifyTree(size, cp.checkpoint.rootHash);
  const entries = size === 0 ? [] : await client.entries(0, size, size);
  return entries.map((e) => parseEntry(e, { requireCanonical: true }));
}

/** The statements of one chain (`usage/...` or `meter/...`) in log order, with their indexes. */
export function chainOf(
  all: readonly ParsedStatement[],
  match: (p: ParsedStatement) => boolean,
): { index: number; s: ParsedStatement }[] {
  return all.map((s, index) => ({ index, s })).filter((x) => match(x.s));
}

/**
 * Asserts that a chain is complete: seq 0..n-1 each exactly once, in log order, each `prev` the
 * hash of the previous payload (64 zeros at seq 0).
 */
export function expectContiguous(chain: { s: ParsedStatement }[]): void {
  const seqs = chain.map((x) => (x.s.payload as { seq: number }).seq);
  expect(seqs).toEqual(seqs.map((_, i) => i));
  let prev = ZERO_HASH;
  for (const x of chain) {
    expect((x.s.payload as { prev: string }).prev).toBe(prev);
    prev = payloadHash(x.s.payloadBytes);
  }
}

/** Asserts that every outbox row is in the log at its index, with a receipt that verifies. */
export function expectOutboxLogged(
  outbox: Outbox,
  all: readonly ParsedStatement[],
  logKey: TestKey,
): number {
  const rows = outbox.list();
  for (const r of rows) {
    expect(r.logIndex, `seq ${r.seq} acknowledged`).not.toBeNull();
    expect(Buffer.from(all[r.logIndex!]!.entry).equals(Buffer.from(r.entry))).toBe(true);
    expect(r.receipt, `seq ${r.seq} has a receipt`).not.toBeNull();
    verifyReceipt(r.receipt!, {
      entry: r.entry,
      index: r.logIndex!,
      logKey: parseVerifierKey(logKey.vkey),
    });
  }
  return rows.length;
}

export const isUsageOf = (node: string) => (p: ParsedStatement) =>
  p.payloadType === PAYLOAD_TYPE.usage && p.payload.node === node;
export const isMeter = (p: ParsedStatement) => p.payloadType === PAYLOAD_TYPE.meter;
