/**
 * Checks a receipt the log served (a C2SP tlog-proof) for the evidence page, the way anyone
 * holding the trust policy would offline: the checkpoint inside it is signed by a log key of the
 * policy, its cosignatures are counted against the policy's witnesses and quorum, and the
 * inclusion proof leads from the entry's leaf hash to the checkpoint's root. Pure: no I/O.
 */
import { fromHex } from '../core/bytes.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { parseTlogProof, verifyTlogProofInclusion } from '../tlog/proof.js';
import { observeCheckpoint } from '../verifier/timeline.js';

export type ReceiptCheck =
  | { ok: true; size: number; quorum: boolean; cosignedBy: string[] }
  | { ok: false; reason: string };

/** Checks `receipt` for the entry at `index` with leaf hash `leafHashHex`. */
export function checkReceipt(
  receipt: string,
  index: number,
  leafHashHex: string,
  policy: VPausePolicy,
): ReceiptCheck {
  try {
    const proof = parseTlogProof(receipt);
    if (proof.index !== index) {
      return { ok: false, reason: `the receipt is for entry ${proof.index}, not ${index}` };
    }
    let last: unknown = new Error('the policy names no log key');
    for (const log of policy.tlog.logs) {
      let cp: ReturnType<typeof observeCheckpoint>;
      try {
        cp = observeCheckpoint(proof.checkpoint, policy.tlog, log.key);
      } catch (e) {
        last = e;
        continue;
      }
      verifyTlogProofInclusion(proof, fromHex(leafHashHex), cp);
      return {
        ok: true,
        size: cp.size,
        quorum: cp.quorum,
        cosignedBy: cp.cosignatures.map((c) => c.witness),
      };
    }
    return { ok: false, reason: `its checkpoint does not verify: ${(last as Error).message}` };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
