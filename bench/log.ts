/**
 * bench:log — drives the real log server (a `vpause log serve` process on SQLite, the embedded
 * default) with a load generator (autocannon) on this machine, and prints in one run:
 * raw Ed25519 verifications/s over all cores; durable ingest statements/s for single and batch
 * POSTs; p50/p99 add latency; inclusion-proof requests/s on a tree of 10M entries next to
 * hello-world requests/s of the same server stack (hono on @hono/node-server); RSS at 1M and 10M
 * entries. The 1M/10M trees are built by a bulk path (storage API + integrate, as the log's
 * integrator does, in larger chunks) and cached in bench/out/ between runs; proofs are served by
 * the server.
 *
 * Usage: npm run bench:log [-- --entries 10000000 --single 20000 --batch 60000 --warmup 10000]
 *        npm run bench:log -- --build-only 1   (only build or extend the cached trees)
 *        npm run bench:log -- --skip-proofs 1  (ingest only: no 1M/10M trees, proofs or RSS)
 *        npm run bench:log -- --proofs-only 1  (proofs, hello world and RSS only)
 *        npm run bench:log -- --threads N      (`vpause log serve --threads N`; default: its own)
 *        npm run bench:log -- --sqlite-thread 1 (`vpause log serve --sqlite-thread`)
 *        npm run bench:log -- --cpu-prof DIR   (write a V8 CPU profile of the log process to DIR)
 *
 * Next to each ingest rate it prints the CPU seconds the log process (all its threads) and this
 * load generator spent, from /proc (Linux), since rates on a small shared machine are noisy.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { utf8 } from '../src/core/bytes.js';
import { openStorage } from '../src/log/storage/index.js';
import { tileSummaries } from '../src/log/tile-tree.js';
import { hashLeaf } from '../src/merkle/rfc9162.js';
import { integrate } from '../src/merkle/tiles.js';
import { signCheckpoint } from '../src/tlog/checkpoint.js';
import { TestLab, testKey } from '../tests/helpers/world.js';
import { startLogProcess } from './log-proc.js';
import { rawVerifyRate } from './raw-verify.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const BIG = Number(args.get('entries') ?? 10_000_000);
const SMALL = Math.min(1_000_000, BIG);
const SINGLE = Number(args.get('single') ?? 20_000);
const BATCH_TOTAL = Number(args.get('batch') ?? 60_000);
const BATCH = 1000;
const WARMUP = Number(args.get('warmup') ?? 10_000);
const OUT = join(process.cwd(), 'bench', 'out');

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

const logKey = testKey('bench.example/log');

const THREADS = args.get('threads');
const CPU_PROF = args.get('cpu-prof');

const startLogProc = (data: string, admit: string) =>
  startLogProcess(
    data,
    logKey.privateKey,
    admit,
    [
      ...(THREADS !== undefined ? ['--threads', THREADS] : []),
      ...(args.has('sqlite-thread') ? ['--sqlite-thread'] : []),
    ],
    {},
    // Node refuses --cpu-prof in NODE_OPTIONS: it goes on the log process's command line.
    CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [],
  );

/**
 * CPU seconds (user + system) of a process, all its threads, from /proc; with `mainThread`, of
 * its main thread only (the event loop: its thread id is the process id). NaN where unavailable.
 */
function cpuSeconds(pid: number | undefined, mainThread = false): number {
  try {
    const stat = readFileSync(
      mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`,
      'utf8',
    );
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) in clock ticks; Linux uses 100 ticks a second.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of each thread of a process (by thread id), from /proc; empty where unavailable. */
function threadCpu(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {}
  return out;
}

/**
 * Measures the CPU seconds of the log process and of this process over `f`; for the log, also
 * of its main thread (the event loop) and of each other thread, busiest first (the preparation
 * workers, then V8's and libuv's helper threads).
 */
async function withCpu<T>(pid: number | undefined, f: () => Promise<T>) {
  const s0 = cpuSeconds(pid);
  const m0 = cpuSeconds(pid, true);
  const t0 = threadCpu(pid);
  const c0 = process.cpuUsage();
  const r = await f();
  const c = process.cpuUsage(c0);
  const others: number[] = [];
  for (const [tid, secs] of threadCpu(pid)) {
    if (tid !== String(pid)) others.push(secs - (t0.get(tid) ?? 0));
  }
  others.sort((a, b) => b - a);
  return {
    r,
    server: cpuSeconds(pid) - s0,
    loop: cpuSeconds(pid, true) - m0,
    others,
    client: (c.user + c.system) / 1e6,
  };
}

function cpuNote(
  cpu: { server: number; loop: number; others: number[]; client: number },
  statements: number,
): string {
  const us = (s: number) => ((s * 1e6) / statements).toFixed(0);
  const top = cpu.others.slice(0, 2);
  const rest = cpu.others.slice(2).reduce((a, b) => a + b, 0);
  return `CPU: log ${cpu.server.toFixed(2)} s = ${us(cpu.server)} µs/statement (event loop ${us(cpu.loop)}, busiest threads ${top.map(us).join(' + ')}, all others ${us(rest)}), load generator ${cpu.client.toFixed(2)} s`;
}

async function rssOf(url: string): Promise<number> {
  const m = await (await fetch(`${url}/metrics`)).text();
  const line = m.split('\n').find((l) => l.startsWith('vpause_log_process_resident_memory_bytes'));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/**
 * Runs autocannon. With `amount`, autocannon reports the end of the run only at its next
 * one-second tick, so the result also carries `seconds`: from the start to the last response.
 */
function cannon(opts: autocannon.Options): Promise<autocannon.Result & { seconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let last = t0;
    const inst = autocannon(opts, (err, res) =>
      err ? reject(err) : resolve({ ...res, seconds: (last - t0) / 1000 }),
    );
    inst.on('response', () => {
      last = performance.now();
    });
  });
}

/** Builds (or extends) a tree of `size` tiny entries in the SQLite data dir, by the bulk path. */
async function bulkTree(data: string, size: number): Promise<number> {
  const t0 = performance.now();
  const st = await openStorage({ data, sqliteCacheMiB: 1024 });
  try {
    let seq = await st.sequencedSize();
    while (seq < size) {
      const n = Math.min(50_000, size - seq);
      const items = Array.from({ length: n }, (_, i) => {
        const d = utf8(`{"bench":${seq + i}}`);
        return { leafHash: hashLeaf(d), data: d };
      });
      await st.sequence(items);
      seq += n;
    }
    let state = await st.treeState();
    while (state.size < size) {
      const n = Math.min(1 << 18, size - state.size);
      const leaves = await st.readLeafHashes(state.size, n);
      const r = await integrate(state.size, leaves, (ids) => st.readTiles(ids));
      const cp = signCheckpoint(
        { origin: logKey.signer.name, size: r.size, rootHash: r.rootHash, extensions: [] },
        logKey.signer,
      );
      if (
        !(await st.commitIntegration(
          state.size,
          { size: r.size, rootHash: r.rootHash, checkpoint: utf8(cp) },
          [...r.tiles, ...tileSummaries(r.tiles)],
        ))
      ) {
        throw new Error('bulk integration lost a race');
      }
      state = await st.treeState();
    }
  } finally {
    await st.close();
  }
  return (performance.now() - t0) / 1000;
}

/**
 * Where the cached tree of `size` entries lives: one directory per size, so that the RSS at 1M
 * is that of a log whose tree has 1M entries (not of the 10M log proving at an older size).
 */
function treeDir(size: number): string {
  return join(OUT, size === BIG ? 'tree' : `tree-${size}`);
}

async function proofRun(url: string, size: number, seconds: number): Promise<autocannon.Result> {
  let x = 12345;
  return cannon({
    url,
    connections: 32,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          x = (x * 1103515245 + 12345) % 2147483648;
          const index = Math.floor((x / 2147483648) * size);
          return { ...req, path: `/v1/proof/inclusion?index=${index}&size=${size}` };
        },
      },
    ],
  });
}

/** Raw verification over all cores, then durable ingest through the real server. */
async function ingestSection() {
  // 1. Baseline: raw verification over all cores.
  const raw = await rawVerifyRate();
  console.log(
    `raw Ed25519 verify (node:crypto, ${raw.cores} cores): ${fmt(raw.perSecond)} /s   target ingest >= ${fmt(raw.perSecond / 2)} /s`,
  );

  // 2. Durable ingest through the real server (SQLite, synchronous=FULL).
  const lab = new TestLab('bench-lab.example');
  const NODES = 64;
  const nodes = Array.from({ length: NODES }, (_, i) => `n${i}`);
  const gen0 = performance.now();
  const regs = nodes.map((n) => lab.register(n).body);
  const warm = Array.from({ length: WARMUP }, (_, i) => lab.usage(nodes[i % NODES]!).body);
  const single = Array.from({ length: SINGLE }, (_, i) => lab.usage(nodes[i % NODES]!).body);
  const batched = Array.from({ length: BATCH_TOTAL }, (_, i) => lab.usage(nodes[i % NODES]!).body);
  console.log(
    `(generated ${fmt(WARMUP + SINGLE + BATCH_TOTAL)} signed statements in ${fmt((performance.now() - gen0) / 1000)} s)`,
  );
  const ingestDir = mkdtempSync(join(tmpdir(), 'vpause-bench-ingest-'));
  const log = await startLogProc(ingestDir, `lab ${lab.root.vkey}\n`);
  try {
    for (const b of regs) {
      const r = await fetch(`${log.url}/v1/statements`, {
        method: 'POST',
        body: b,
        headers: { 'content-type': 'application/json' },
      });
      if (r.status !== 200) throw new Error(`registration refused: ${await r.text()}`);
    }
    const dec = new TextDecoder();
    const pid = log.p.child.pid;
    // Warm-up, not measured: half single POSTs, half batches, so that V8 has compiled the hot
    // paths of both (its background compiler threads otherwise show up in the log's CPU).
    const half = Math.floor(WARMUP / 2);
    let w = 0;
    await cannon({
      url: log.url,
      connections: Math.min(64, Math.max(1, half)),
      amount: half,
      requests: [
        {
          method: 'POST',
          path: '/v1/statements',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: dec.decode(warm[w++]!) }),
        },
      ],
    });
    for (let i = half; i < WARMUP; i += BATCH) {
      const r = await fetch(`${log.url}/v1/statements:batch`, {
        method: 'POST',
        body: `[${warm
          .slice(i, Math.min(WARMUP, i + BATCH))
          .map((b) => dec.decode(b))
          .join(',')}]`,
        headers: { 'content-type': 'application/json' },
      });
      if (r.status !== 200) throw new Error(`warm-up batch refused: ${await r.text()}`);
    }
    let k = 0;
    const { r: s, ...sc } = await withCpu(pid, () =>
      cannon({
        url: log.url,
        connections: Math.min(64, SINGLE),
        amount: SINGLE,
        requests: [
          {
            method: 'POST',
            path: '/v1/statements',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: dec.decode(single[k++ % SINGLE]!) }),
          },
        ],
      }),
    );
    const singleRate = s['2xx'] / s.seconds;
    console.log(
      `ingest, single POSTs (64 connections): ${fmt(singleRate)} statements/s  (non-2xx ${s.non2xx}, errors ${s.errors})  latency p50 ${s.latency.p50} ms  p99 ${s.latency.p99} ms   = ${(singleRate / raw.perSecond).toFixed(2)} x raw verify`,
    );
    console.log(`  ${cpuNote(sc, s['2xx'])}`);
    const bodies: string[] = [];
    for (let i = 0; i < BATCH_TOTAL; i += BATCH) {
      bodies.push(
        `[${batched
          .slice(i, i + BATCH)
          .map((b) => dec.decode(b))
          .join(',')}]`,
      );
    }
    let j = 0;
    const { r: b, ...bc } = await withCpu(pid, () =>
      cannon({
        url: log.url,
        connections: Math.min(4, bodies.length),
        amount: bodies.length,
        timeout: 60,
        requests: [
          {
            method: 'POST',
            path: '/v1/statements:batch',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: bodies[j++ % bodies.length]! }),
          },
        ],
      }),
    );
    const batchRate = (b['2xx'] * BATCH) / b.seconds;
    console.log(
      `ingest, batch POSTs of ${BATCH} (4 connections): ${fmt(batchRate)} statements/s  (non-2xx ${b.non2xx})  request p50 ${b.latency.p50} ms  p99 ${b.latency.p99} ms   = ${(batchRate / raw.perSecond).toFixed(2)} x raw verify`,
    );
    console.log(`  ${cpuNote(bc, b['2xx'] * BATCH)}`);
  } finally {
    await log.p.kill('SIGTERM');
    rmSync(ingestDir, { recursive: true, force: true });
  }
}

async function main() {
  if (args.has('build-only')) {
    for (const size of [SMALL, BIG]) {
      console.log(
        `tree of ${fmt(size)} entries built in ${fmt(await bulkTree(treeDir(size), size))} s`,
      );
    }
    return;
  }
  console.log(
    `# bench:log  node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'})`,
  );

  if (!args.has('proofs-only')) await ingestSection();
  if (args.has('skip-proofs')) return;

  // 3. Proofs and memory on big trees (bulk-built, cached in bench/out/).
  mkdirSync(OUT, { recursive: true });
  const rss: Record<string, number> = {};
  let proofRate = 0;
  for (const size of [SMALL, BIG]) {
    const secs = await bulkTree(treeDir(size), size);
    console.log(`(tree of ${fmt(size)} entries ready in ${fmt(secs)} s)`);
    const srv = await startLogProc(treeDir(size), '');
    try {
      // The proof index (src/log/proof-index.ts) is filled from the stored tiles once, at the
      // first start on a bulk-built tree; a log that integrated the entries itself has it already.
      const w0 = performance.now();
      const want = Math.floor(size / 256) * 256;
      while (
        ((await (await fetch(`${srv.url}/healthz`)).json()) as { proofIndexed: number })
          .proofIndexed < want
      ) {
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log(
        `(proof index covers the tree after ${((performance.now() - w0) / 1000).toFixed(2)} s)`,
      );
      await proofRun(srv.url, size, 1); // warm-up
      const { r, server } = await withCpu(srv.p.child.pid, () => proofRun(srv.url, size, 5));
      rss[size] = await rssOf(srv.url);
      if (size === BIG) proofRate = r.requests.average;
      console.log(
        `inclusion proofs at size ${fmt(size)} (32 connections): ${fmt(r.requests.average)} req/s  (non-2xx ${r.non2xx})  p99 ${r.latency.p99} ms  RSS ${fmt(rss[size]! / 2 ** 20)} MiB  server CPU ${((server * 1e6) / r.requests.total).toFixed(1)} µs/request`,
      );
    } finally {
      await srv.p.kill('SIGTERM');
    }
  }
  const hp = (await import('node:child_process')).spawn(
    process.execPath,
    [join(process.cwd(), 'bench', 'hello-server.mjs')],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const helloUrl = await new Promise<string>((resolve) => {
    hp.stdout!.on('data', (d: Buffer) => {
      const m = /hello listening on (\S+)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
  });
  await cannon({ url: `${helloUrl}/hello`, connections: 32, duration: 1 }); // warm-up
  const { r: h, server: hs } = await withCpu(hp.pid, () =>
    cannon({ url: `${helloUrl}/hello`, connections: 32, duration: 5 }),
  );
  hp.kill('SIGTERM');
  console.log(
    `hello world, same stack (32 connections): ${fmt(h.requests.average)} req/s  server CPU ${((hs * 1e6) / h.requests.total).toFixed(1)} µs/request`,
  );
  console.log(
    `proofs / hello-world = ${(proofRate / h.requests.average).toFixed(2)}  (target >= 0.5)`,
  );
  console.log(
    `RSS growth ${fmt(SMALL)} -> ${fmt(BIG)} entries: ${fmt((rss[BIG]! - rss[SMALL]!) / 2 ** 20)} MiB  (target <= 50 MiB)`,
  );
}

await main();
