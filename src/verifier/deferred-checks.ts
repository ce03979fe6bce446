/**
 * Signature checks listed by the packer (./packed.ts, `Packer.runDeferring`) to be made later,
 * possibly on another thread (./verify-thread.ts): plain bytes and numbers, so that they can be
 * transferred, and one loop that makes them wherever they are made. Kept apart from the packer
 * so that a verification thread loads only this. Pure: no I/O.
 */

/** Checks a signature over a message: `ed25519Verifier` of one key. */
export type Verify = (msg: Uint8Array, sig: Uint8Array) => boolean;

/**
 * Signature checks of packed entries left for later: for job j, the PAE at
 * msgs[msgAt[2j], msgAt[2j + 1]), the 64-byte signature at sigs[64j…], the number of its key
 * (`Packer.publicKeys` and `Packer.verifiers` by number), and where its outcome goes (the run's
 * outcome slot, and the entry of the run it belongs to).
 */
export interface DeferredChecks {
  msgs: Uint8Array;
  msgAt: Uint32Array;
  sigs: Uint8Array;
  keyNos: Uint32Array;
  slots: Uint32Array;
  entries: Uint32Array;
}

/**
 * Makes the checks: 1 (valid) or 0 for each, by `verifiers[keyNos[j]]`.
 * @throws {Error} when a check names a key number `verifiers` lacks (the caller's bug, never an
 *   invalid signature)
 */
export function checkAll(
  d: Pick<DeferredChecks, 'msgs' | 'msgAt' | 'sigs' | 'keyNos'>,
  verifiers: readonly Verify[],
): Uint8Array {
  const n = d.keyNos.length;
  const valid = new Uint8Array(n);
  // Each signature is copied into one array of 64 rather than viewed: a view is an object, and
  // 200,000 of them a log make the verification threads' young generation fill (and be swept)
  // twice as often.
  const sig = SIG;
  const sigs = d.sigs;
  for (let j = 0; j < n; j++) {
    const verify = verifiers[d.keyNos[j]!];
    if (verify === undefined) throw new Error(`deferred checks: no key number ${d.keyNos[j]}`);
    const msg = d.msgs.subarray(d.msgAt[2 * j]!, d.msgAt[2 * j + 1]!);
    for (let k = 0, o = 64 * j; k < 64; k++) sig[k] = sigs[o + k]!;
    valid[j] = verify(msg, sig) ? 1 : 0;
  }
  return valid;
}

/** `checkAll`'s signature, one at a time (verification reads it and keeps nothing). */
const SIG = new Uint8Array(64);

/**
 * Writes the outcomes of deferred checks (`checkAll`'s answer) into their run's outcome column,
 * by slot, and calls `onInvalid` with the entry of each that came out invalid; returns how many
 * did.
 */
export function applyOutcomes(
  outValid: Uint8Array,
  d: Pick<DeferredChecks, 'slots' | 'entries'>,
  valid: Uint8Array,
  onInvalid?: (entry: number) => void,
): number {
  let invalid = 0;
  for (let k = 0; k < valid.length; k++) {
    outValid[d.slots[k]!] = valid[k]!;
    if (valid[k] === 1) continue;
    invalid++;
    onInvalid?.(d.entries[k]!);
  }
  return invalid;
}
