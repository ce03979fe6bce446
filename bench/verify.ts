/**
 * bench:verify — the time `vpause verify` takes over N ≥ 200,000 logged statements, next to the
 * time the raw signature checks alone would take on all cores (N ÷ raw Ed25519 verifications/s,
 * measured in the same run with worker threads: bench/raw-verify.ts). Target: ≤ 1.25×.
 *
 * The log: one lab with 100 nodes reporting every 5 minutes for about a week (N usage reports),
 * a facility meter, registrations, inventory and pause; every statement really signed. It is
 * written straight into a SQLite log directory (the storage API and `integrate`, as the log's
 * integrator does, in bigger chunks; cached in bench/out/ between runs) with a checkpoint signed
 * by the log key and cosigned by a witness, and served by the real log server in its own process
 * (`vpause log serve`). The verifier then does everything `vpause verify` does, from an empty
 * cache: fetch and verify the checkpoint, read every entry bundle, hash the tree and compare
 * roots, decode every entry, check every signature (worker threads), and run the seven checks.
 *
 * The raw rate is that of the log's own signatures (a sample of 4,096 entries spread over it,
 * cycled on every core; bench/raw-verify.ts), the work the verifier cannot avoid. The rate of one
 * signature verified again and again is printed beside it: a few per cent higher, because the
 * CPU's branch predictor learns the one signature's variable-time path and one key stays cached.
 *
 * Each run also prints the CPU of the verifier's threads and of the log server, the core-seconds
 * neither used (idle: what overlapping the work could still win), and the transport floor
 * (bench/transport-floor.ts): the time to GET every entry bundle from the same server and make one
 * raw verification per entry with no vpause code, next to the same N ÷ raw. The ratio's target
 * counts the transport and the log server on this machine's cores too; the floor says how much of
 * it they take on this machine, and what remains is the verifier's own work.
 *
 * Usage: npm run bench:verify [-- --entries 200000 --runs 2]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { pae } from '../protocol/src/dsse.js';
import { formatTime } from '../protocol/src/time.js';
import { utf8 } from '../src/core/bytes.js';
import { openStorage } from '../src/log/storage/index.js';
import { tileSummaries } from '../src/log/tile-tree.js';
import { hashLeaf } from '../src/merkle/rfc9162.js';
import { integrate } from '../src/merkle/tiles.js';
import { keyIdString } from '../src/note/keys.js';
import { xoshiro128 } from '../src/verifier/prng.js';
import { verifyPause } from '../src/verifier/verify.js';
import {
  IDLE_NODE_J,
  pauseLogCheckpoint,
  pauseLogEntries,
  pauseLogKeys,
  pauseLogPolicy,
} from '../tests/helpers/pause-log.js';
import { startLogProcess } from './log-proc.js';
import { type RawSample, rawVerifyRate } from './raw-verify.js';
import { transportFloor } from './transport-floor.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const WANT = Number(args.get('entries') ?? 200_000);
const RUNS = Number(args.get('runs') ?? 2);
const NODES = 100;
const INTERVAL = 300;
const INTERVALS = Math.ceil((WANT - NODES - 2) / (NODES + 1));
const T0 = Date.UTC(2026, 10, 27) / 1000;
const LAB = 'lab-a.example';
const OUT = join(process.cwd(), 'bench', 'out', `verify-${WANT}`);

const keys = pauseLogKeys('bench', LAB, NODES);

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

/** CPU seconds a process has used (Linux /proc; NaN elsewhere). */
function cpuOf(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of each thread of this process seen while it runs (Linux /proc, sampled every
 * 250 ms, so that worker threads that exit before the end are still counted, to within one
 * interval); the main thread's id is the process id. Each sample reads a file per thread on the
 * main thread, inside the time measured: every 50 ms, that was ~70 ms of its CPU a run.
 */
class ThreadCpu {
  private readonly seen = new Map<string, number>();
  private readonly start = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  begin(): void {
    this.sample();
    for (const [tid, c] of this.seen) this.start.set(tid, c);
    this.timer = setInterval(() => this.sample(), 250);
  }

  /** Seconds since `begin`: the main thread, the two busiest others, and the rest together. */
  end(): { main: number; top: number[]; rest: number } {
    clearInterval(this.timer);
    this.sample();
    const main = String(process.pid);
    const others: number[] = [];
    let m = 0;
    for (const [tid, c] of this.seen) {
      const d = c - (this.start.get(tid) ?? 0);
      if (tid === main) m = d;
      else others.push(d);
    }
    others.sort((a, b) => b - a);
    const top = others.slice(0, 2);
    return { main: m, top, rest: others.slice(2).reduce((a, b) => a + b, 0) };
  }

  private sample(): void {
    try {
      for (const tid of readdirSync('/proc/self/task')) {
        try {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          this.seen.set(tid, (Number(f[11]) + Number(f[12])) / 100);
        } catch {}
      }
    } catch {}
  }
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Raw verifications/s over all cores and the CPU seconds one costs: of the log's own signatures
 * (the sample, cycled: the target's baseline), and of one signature verified again and again
 * (shown beside it; see bench/raw-verify.ts for why they differ).
 */
async function raw(
  sample: RawSample,
): Promise<{ cores: number; perSecond: number; cpuPerVerify: number; oneSignature: number }> {
  const c0 = cpuNow();
  const r = await rawVerifyRate(3000, sample);
  const cpu = cpuNow() - c0;
  const one = await rawVerifyRate(2000, 620);
  return { ...r, cpuPerVerify: cpu / (r.perSecond * 3), oneSignature: one.perSecond };
}

/**
 * Signatures of the log itself for the raw rate: `count` entries evenly spread over the log, each
 * its DSSE PAE message, signature and signer's public key (all of the bench log's statements
 * carry one signature by one of its keys).
 */
async function signatureSample(size: number, count = 4096): Promise<RawSample> {
  const signers = [keys.root, keys.meterKey, ...keys.nodeKeys].map((k) => k.signer);
  const byKeyid = new Map(signers.map((k, i) => [keyIdString(k), i]));
  const st = await openStorage({ data: join(OUT, 'data') });
  try {
    const items: RawSample['items'] = [];
    for (let i = 0; i < count; i++) {
      const [entry] = await st.readEntries(Math.floor((i * size) / count), 1);
      const env = JSON.parse(Buffer.from(entry!).toString('utf8')) as {
        payload: string;
        payloadType: string;
        signatures: { keyid: string; sig: string }[];
      };
      const key = byKeyid.get(env.signatures[0]!.keyid);
      if (key === undefined)
        throw new Error(`bench log: unknown keyid ${env.signatures[0]!.keyid}`);
      // Copies of their own (a pooled Buffer would send its whole pool to every worker).
      items.push({
        key,
        msg: new Uint8Array(pae(env.payloadType, Buffer.from(env.payload, 'base64'))),
        sig: new Uint8Array(Buffer.from(env.signatures[0]!.sig, 'base64')),
      });
    }
    return { keys: signers.map((k) => new Uint8Array(k.publicKey)), items };
  } finally {
    await st.close();
  }
}

/** Every statement of the bench log, in log order (the meter reads within 1 % of the reports). */
function statements(): Generator<Uint8Array> {
  const rng = xoshiro128(42);
  return pauseLogEntries({
    lab: LAB,
    ...keys,
    t0: T0,
    intervalSeconds: INTERVAL,
    intervals: INTERVALS,
    meterEnergyJ: () =>
      Math.round((1.25 * NODES * IDLE_NODE_J + 150_000 * INTERVAL) * (1 + 0.01 * rng.nextNormal())),
  });
}

/** Builds (once) the log directory: entries, tiles, and a cosigned checkpoint. */
async function buildLog(): Promise<number> {
  const done = join(OUT, 'complete');
  const data = join(OUT, 'data');
  if (existsSync(done)) {
    const st = await openStorage({ data });
    try {
      return (await st.treeState()).size;
    } finally {
      await st.close();
    }
  }
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const t0 = performance.now();
  const st = await openStorage({ data });
  try {
    let batch: { leafHash: Uint8Array; data: Uint8Array }[] = [];
    let n = 0;
    for (const e of statements()) {
      batch.push({ leafHash: hashLeaf(e), data: e });
      if (batch.length === 20_000) {
        await st.sequence(batch);
        n += batch.length;
        batch = [];
        process.stdout.write(`  (signed and stored ${fmt(n)} statements)\r`);
      }
    }
    if (batch.length > 0) await st.sequence(batch);
    const size = await st.sequencedSize();
    let state = await st.treeState();
    while (state.size < size) {
      const k = Math.min(1 << 18, size - state.size);
      const leaves = await st.readLeafHashes(state.size, k);
      const r = await integrate(state.size, leaves, (ids) => st.readTiles(ids));
      // The witness cosigns before every report's deadline (the synthetic reports are on time).
      const note = pauseLogCheckpoint(keys, r.size, r.rootHash, T0 + 600);
      if (
        !(await st.commitIntegration(
          state.size,
          { size: r.size, rootHash: r.rootHash, checkpoint: utf8(note) },
          [...r.tiles, ...tileSummaries(r.tiles)],
        ))
      ) {
        throw new Error('bulk integration lost a race');
      }
      state = await st.treeState();
    }
    writeFileSync(done, `${size}\n`);
    console.log(
      `(log of ${fmt(size)} statements built in ${fmt((performance.now() - t0) / 1000)} s)`,
    );
    return size;
  } finally {
    await st.close();
  }
}

async function main() {
  console.log(
    `bench:verify on ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`,
  );
  const size = await buildLog();
  const sample = await signatureSample(size);
  const { p, url, dir } = await startLogProcess(
    join(OUT, 'data'),
    keys.logKey.privateKey,
    `lab ${keys.root.vkey}\nmeter f1 ${keys.meterKey.vkey}\n`,
  );
  const policy = pauseLogPolicy(keys, url);
  try {
    for (let run = 1; run <= RUNS; run++) {
      // The machine may be shared: measure the raw rate right before and right after, and
      // compare with their mean; CPU seconds are reported too (less sensitive to other load).
      const before = await raw(sample);
      const server0 = cpuOf(p.child.pid);
      const cpu0 = cpuNow();
      const threads = new ThreadCpu();
      threads.begin();
      const t0 = performance.now();
      const r = await verifyPause({
        policy,
        logUrl: url,
        question: { lab: LAB, pause: 'pause-1', to: formatTime(T0 + INTERVALS * INTERVAL) },
        asOf: T0 + INTERVALS * INTERVAL + 3600,
      });
      const secs = (performance.now() - t0) / 1000;
      const th = threads.end();
      const cpu = cpuNow() - cpu0;
      const serverCpu = cpuOf(p.child.pid) - server0;
      const after = await raw(sample);
      const floorServer0 = cpuOf(p.child.pid);
      const floorCpu0 = cpuNow();
      const floor = await transportFloor(url, size, sample);
      const floorCpu = cpuNow() - floorCpu0;
      const floorServer = cpuOf(p.child.pid) - floorServer0;
      if (r.verdict.verdict !== 'compliant') {
        throw new Error(
          `the bench log should verify as compliant: ${JSON.stringify(r.verdict.findings.slice(0, 2))}`,
        );
      }
      const rate = (before.perSecond + after.perSecond) / 2;
      const rawSecs = size / rate;
      const rawCpu = (size * (before.cpuPerVerify + after.cpuPerVerify)) / 2;
      const oneRate = (before.oneSignature + after.oneSignature) / 2;
      console.log(
        `run ${run}: verified ${fmt(size)} statements in ${secs.toFixed(2)} s, verdict ${r.verdict.verdict}; ` +
          `raw Ed25519 of the log's signatures on ${before.cores} cores ${fmt(before.perSecond)}/s before, ` +
          `${fmt(after.perSecond)}/s after → N ÷ raw = ${rawSecs.toFixed(2)} s; ratio ${(secs / rawSecs).toFixed(2)}× ` +
          `(target ≤ 1.25×)`,
      );
      console.log(
        `        one signature verified again and again: ${fmt(before.oneSignature)}/s before, ${fmt(after.oneSignature)}/s ` +
          `after, ${((oneRate / rate - 1) * 100).toFixed(1)} % faster than the log's signatures; against it the ratio ` +
          `would be ${(secs / (size / oneRate)).toFixed(2)}×`,
      );
      console.log(
        `        CPU: verifier ${cpu.toFixed(1)} s + log server ${serverCpu.toFixed(1)} s, against ${rawCpu.toFixed(1)} s for the ` +
          `raw verifications alone (verifier ${(cpu / rawCpu).toFixed(2)}×, with the server ${((cpu + serverCpu) / rawCpu).toFixed(2)}×)`,
      );
      console.log(
        `        verifier threads: main ${th.main.toFixed(1)} s, verification threads ${th.top.map((x) => x.toFixed(1)).join(' + ')} s, ` +
          `V8 and libuv helpers ${th.rest.toFixed(1)} s; per statement beyond the raw verification: ` +
          `${(((cpu + serverCpu - rawCpu) / size) * 1e6).toFixed(0)} µs of CPU`,
      );
      // Core-seconds that neither the verifier nor the log server used while it ran: waits, the
      // machine's other load, and CPU stolen from this VM.
      const cores = availableParallelism();
      console.log(
        `        idle: ${(cores * secs - cpu - serverCpu).toFixed(2)} of ${(cores * secs).toFixed(1)} core-seconds ` +
          `(${cores} cores × the verification's wall time) used by neither the verifier nor the log server`,
      );
      console.log(
        `        transport floor: ${floor.seconds.toFixed(2)} s = ${(floor.seconds / rawSecs).toFixed(2)}× N ÷ raw ` +
          `(every entry bundle, ${fmt(floor.bodyBytes / 2 ** 20)} MiB, fetched from the same server with node:http and one raw ` +
          `verification per entry, on ${cores} worker threads, no vpause code; CPU ${floorCpu.toFixed(1)} s + log server ` +
          `${floorServer.toFixed(1)} s); the verifier's own work beyond it: ${(secs - floor.seconds).toFixed(2)} s, ` +
          `${(cpu + serverCpu - floorCpu - floorServer).toFixed(1)} s of CPU`,
      );
    }
  } finally {
    await p.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
