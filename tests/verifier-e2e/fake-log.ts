/**
 * A log built by hand in memory, for the cases a real log refuses to produce (a statement with
 * a forged signature in the tree): given the entries and a schedule of checkpoints (size and the
 * witnesses' cosigning time), signs every checkpoint with the log key and cosigns it, and serves
 * entries and RFC 9162 proofs as a BundleSource.
 */
import {
  consistencyProof,
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
} from '../../src/merkle/rfc9162.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import type { VPausePolicy } from '../../src/policy/vpause-policy.js';
import { signCheckpoint } from '../../src/tlog/checkpoint.js';
import { signCosignature } from '../../src/tlog/cosignature.js';
import type { BundleSource } from '../../src/verifier/bundle.js';
import { InlineIngestor } from '../../src/verifier/ingest.js';
import { LogIndex } from '../../src/verifier/log-index.js';
import {
  type ObservedCheckpoint,
  observeCheckpoint,
  WitnessTimeline,
} from '../../src/verifier/timeline.js';
import type { TestKey } from '../helpers/world.js';

export interface FakeLog {
  checkpoints: ObservedCheckpoint[];
  index: LogIndex;
  timeline: WitnessTimeline;
  source: BundleSource;
}

export async function fakeLog(
  policy: VPausePolicy,
  logKey: TestKey,
  witnesses: readonly TestKey[],
  entries: readonly Uint8Array[],
  schedule: readonly { size: number; time: number }[],
): Promise<FakeLog> {
  const leaves = entries.map(hashLeaf);
  const vkey = parseVerifierKey(logKey.vkey);
  const checkpoints = schedule.map(({ size, time }) => {
    const rootHash = rootFromLeafHashes(leaves.slice(0, size));
    let note = signCheckpoint(
      { origin: logKey.signer.name, size, rootHash, extensions: [] },
      logKey.signer,
    );
    const body = note.slice(0, note.indexOf('\n\n') + 1);
    for (const w of witnesses) note += signCosignature(body, w.signer, time);
    return observeCheckpoint(note, policy.tlog, vkey);
  });
  const index = new LogIndex();
  const batch = await new InlineIngestor().process({ start: 0, entries });
  for (const r of batch.records) index.add(r);
  return {
    checkpoints,
    index,
    timeline: new WitnessTimeline(policy.tlog, checkpoints),
    source: {
      entriesOf: async (recs) => new Map(recs.map((r) => [r.index, entries[r.index]!])),
      inclusionProof: async (i, _leaf, cp) => inclusionProof(i, cp.size, leaves.slice(0, cp.size)),
      consistencyProof: async (a, b) => consistencyProof(a.size, b.size, leaves.slice(0, b.size)),
    },
  };
}
