/**
 * One thread of the ingestion pool: packs the runs it is sent (./packed.ts: leaf hashes,
 * signature checks for the keys it knows, usage reports and meter readings decoded into columns)
 * and transfers the columns back. It loads neither zod nor the protocol schemas: the schema
 * constants come in `workerData.rules` (`packRules()` of ./pack-rules.ts).
 *
 * A run sent with `defer` is answered twice: first the columns, with the signature checks of its
 * packed entries left for later (`Packer.runDeferring`), then the outcomes of those checks. The
 * checks wait in a queue and run one run's worth at a time between turns of the event loop, so
 * that bundles arriving meanwhile are read first: the main thread then holds every record well
 * before the last signatures are checked.
 *
 * Bundle bodies are read into buffers that are reused once packed (`BufferPool`), unless the run
 * took the body along (raw entries are sent as views of it, the buffer transferred); the buffers
 * of deferred checks go back to the packer once run. Fresh memory costs a page fault a 4 KiB,
 * dear on some virtual machines (docs/verifier.md).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { httpGet } from '../client/http-get.js';
import { BufferPool } from '../util/buffer-pool.js';
import {
  type DeferredChecks,
  type IngestInput,
  outcomesTransferList,
  Packer,
  type PackRules,
  runDeferredChecks,
  transferList,
} from './packed.js';

const data = workerData as { vkeys: string[]; rules: PackRules };
const packer = new Packer(data.rules, data.vkeys);
const port = parentPort!;
/** bodies of entry bundles (~220 KiB for 256 usage reports), a few GETs at once */
const bodies = new BufferPool(8, 256 * 1024);

interface Message {
  keys?: string[];
  id: number;
  start: number;
  buf?: Uint8Array;
  offsets?: Uint32Array;
  bundle?: Uint8Array;
  /** an entry bundle to GET first */
  url?: string;
  width?: number;
  skip?: number;
  count?: number;
  /** answer the columns first and the signature outcomes of packed entries after */
  defer?: boolean;
}

/** Deferred checks waiting, oldest first, and whether a turn to run them is scheduled. */
const waiting: { id: number; checks: DeferredChecks }[] = [];
let scheduled = false;

function runWaiting(): void {
  scheduled = false;
  const w = waiting.shift();
  if (w === undefined) return;
  const outcomes = runDeferredChecks(w.checks);
  packer.recycle(w.checks);
  port.postMessage({ id: w.id, outcomes }, outcomesTransferList(outcomes));
  if (waiting.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runWaiting);
}

/** GETs an entry bundle and packs it; a failed GET is answered as such (BundleFetchError). */
async function fetchAndPack(m: Message): Promise<void> {
  let lent: Uint8Array | undefined;
  try {
    await getAndPack(m, (n) => {
      lent = bodies.take(n);
      return lent;
    });
  } finally {
    // Not reused if the run took it along (transferred: detached, which `give` ignores).
    if (lent !== undefined) bodies.give(lent);
  }
}

async function getAndPack(m: Message, alloc: (n: number) => Uint8Array): Promise<void> {
  let bundle: Uint8Array;
  try {
    const g = await httpGet(m.url!, { alloc });
    if (g.status < 200 || g.status >= 300) {
      const redirect = g.status >= 300 && g.status < 400;
      port.postMessage({
        id: m.id,
        error: {
          fetch: redirect ? 'redirect' : 'status',
          status: g.status,
          message: `HTTP ${g.status}`,
        },
      });
      return;
    }
    bundle = g.body;
  } catch (e) {
    port.postMessage({ id: m.id, error: { fetch: 'network', message: (e as Error).message } });
    return;
  }
  pack(m, { start: m.start, bundle, width: m.width!, skip: m.skip!, count: m.count! });
}

function pack(m: Message, input: IngestInput): void {
  try {
    if (m.defer === true) {
      const { run, deferred } = packer.runDeferring(input);
      port.postMessage({ id: m.id, run, pending: deferred !== undefined }, transferList(run));
      if (deferred !== undefined) {
        waiting.push({ id: m.id, checks: deferred });
        schedule();
      }
      return;
    }
    const run = packer.run(input);
    port.postMessage({ id: m.id, run }, transferList(run));
  } catch (e) {
    port.postMessage({
      id: m.id,
      error: { code: (e as { code?: string }).code, message: (e as Error).message },
    });
  }
}

port.on('message', (m: Message) => {
  if (m.keys !== undefined) {
    for (const k of m.keys) packer.ring.add(k);
    return;
  }
  if (m.url !== undefined) {
    void fetchAndPack(m);
    return;
  }
  let input: IngestInput;
  if (m.bundle !== undefined) {
    input = { start: m.start, bundle: m.bundle, width: m.width!, skip: m.skip!, count: m.count! };
  } else {
    const entries: Uint8Array[] = [];
    for (let i = 0; i + 1 < m.offsets!.length; i++) {
      entries.push(m.buf!.subarray(m.offsets![i]!, m.offsets![i + 1]!));
    }
    input = { start: m.start, entries };
  }
  pack(m, input);
});
