/**
 * From the world of one run to signed statements: real Ed25519 keys for the log, the witnesses,
 * each lab, node and meter (seeded, so a run is reproducible); the verifier's trust policy and
 * the log's ADMIT.txt as text, parsed by the project's own parsers; and every statement of the
 * run — registrations, inventories, pause declarations, usage reports chained per node (`seq`,
 * `prev`), meter readings chained per feed — each with the time it reaches the log.
 *
 * In full mode each statement is built and signed by the protocol's makeStatement; in fast mode
 * the payload, its JCS bytes and its hash are the same, but nothing is signed (docs/researchers.md).
 */
import {
  makeStatement,
  PAYLOAD_TYPE,
  type Payload,
  type PayloadType,
  payloadHash,
  ZERO_HASH,
} from '../../protocol/src/index.js';
import type { MeterPayload, UsagePayload } from '../../protocol/src/schemas.js';
import { formatTime } from '../../protocol/src/time.js';
import {
  generateKey,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  type SignerKey,
} from '../note/keys.js';
import { stableLine } from './json.js';
import type { ReportDraft, SimWorld } from './model.js';
import { keyRandom, stream } from './random.js';

export interface SimKey {
  signer: SignerKey;
  vkey: string;
}

export interface SimKeys {
  log: SimKey;
  /** w1 … wn; the last `colluders` of them collude with a forking log */
  witnesses: (SimKey & { name: string })[];
  labs: Map<string, SimKey>;
  /** by node id */
  nodes: Map<string, SimKey>;
  /** by facility, one per feed */
  meters: Map<string, SimKey[]>;
}

/** The log's origin (its key name). */
export const LOG_ORIGIN = 'log.sim.vpause.example';
/** The base URLs the verifier reaches the log and the witnesses at (served in process). */
export const LOG_URL = 'http://log.sim.invalid';
export const witnessUrl = (name: string) => `http://${name}.witness.sim.invalid`;

const keyCache = new Map<string, SimKey>();

/**
 * Keys of every participant of the run. Full mode makes fresh keys for every run (seeded by the
 * run). Fast mode signs nothing, so its keys only name the participants: `shared` derives them
 * from `keySeed` alone and reuses them across the runs of a thread.
 */
export function makeKeys(w: SimWorld, shared?: { keySeed: number }): SimKeys {
  const key = (name: string, type = KEY_TYPE_ED25519): SimKey => {
    const seed = shared?.keySeed ?? w.seed;
    const id = `${seed}/${type}/${name}`;
    const hit = shared === undefined ? undefined : keyCache.get(id);
    if (hit !== undefined) return hit;
    const k = generateKey(name, type, keyRandom(seed, name));
    const out = { signer: k.signer, vkey: k.vkey };
    if (shared !== undefined) {
      if (keyCache.size > 10_000) keyCache.clear();
      keyCache.set(id, out);
    }
    return out;
  };
  const witnesses = Array.from({ length: w.scenario.log.witnesses }, (_, i) => ({
    name: `w${i + 1}`,
    ...key(`w${i + 1}.witness.sim.vpause.example`, KEY_TYPE_COSIGNATURE),
  }));
  const labs = new Map(w.labs.map((l) => [l.id, key(`${l.id}/root`)]));
  const nodes = new Map(
    w.nodes.filter((n) => n.declared).map((n) => [n.id, key(`${n.lab}/node/${n.id}`)]),
  );
  const meters = new Map(
    w.facilities
      .filter((f) => f.declared)
      .map((f) => [
        f.id,
        Array.from({ length: f.feeds }, (_, i) => key(`meter-${i + 1}.${f.id}.sim.vpause.example`)),
      ]),
  );
  return { log: key(LOG_ORIGIN), witnesses, labs, nodes, meters };
}

/** The verifier's trust policy (C2SP tlog-policy plus vpause lines), as a file would hold it. */
export function policyText(w: SimWorld, keys: SimKeys, alpha = w.scenario.verifier.alpha): string {
  const lines = ['# vpause simulator policy', `log ${keys.log.vkey} ${LOG_URL}/`];
  for (const x of keys.witnesses) lines.push(`witness ${x.name} ${x.vkey} ${witnessUrl(x.name)}/`);
  const q = w.scenario.log.quorum;
  if (q > 0 && keys.witnesses.length > 0) {
    lines.push(
      `group witnesses ${q} ${keys.witnesses.map((x) => x.name).join(' ')}`,
      'quorum witnesses',
    );
  } else {
    lines.push('quorum none');
  }
  for (const l of w.labs) lines.push(`lab ${keys.labs.get(l.id)!.vkey}`);
  for (const f of w.facilities) {
    if (!f.declared || !f.metered) continue;
    lines.push(
      `facility ${f.id} pue ${f.pueMin} ${f.pueMax} baseline-w ${f.baselineW} meter-sigma ${f.meterSigma}`,
    );
    for (const m of keys.meters.get(f.id) ?? []) lines.push(`meter ${f.id} ${m.vkey}`);
  }
  lines.push(`alpha ${alpha}`);
  return `${lines.join('\n')}\n`;
}

/** The log's admission list: every lab root key and every meter key. */
export function admitText(w: SimWorld, keys: SimKeys): string {
  const lines = ['# ADMIT.txt of the simulated log'];
  for (const l of w.labs) lines.push(`lab ${keys.labs.get(l.id)!.vkey}`);
  for (const f of w.facilities)
    for (const m of keys.meters.get(f.id) ?? []) lines.push(`meter ${f.id} ${m.vkey}`);
  return `${lines.join('\n')}\n`;
}

const utf8 = new TextEncoder();

/**
 * The JCS (RFC 8785) bytes of a payload the simulator built: sorted keys (UTF-16 code-unit
 * order), JSON.stringify's string escaping and number serialisation — which are JCS's for the
 * finite numbers and well-formed strings payloads hold. Several times faster than the general
 * encoder; tests/sim/statements.test.ts checks it against protocol/src/jcs.ts on every
 * statement of a run.
 */
export function canonicalBytes(payload: unknown): Uint8Array {
  return utf8.encode(stableLine(payload));
}

/** A statement of the run, with where and when it goes. */
export interface SimStatement {
  payloadType: PayloadType;
  payload: Payload;
  /** JCS bytes of the payload and their hex SHA-256 */
  payloadBytes: Uint8Array;
  payloadHash: string;
  signer: SimKey;
  /** the signed log entry (full mode only) */
  entry?: Uint8Array;
  /** when it reaches the log, POSIX seconds */
  submitAt: number;
  /** which history of a forked log it belongs to */
  branch: ReportDraft['branch'];
  /** sort key among statements submitted at one time */
  order: number[];
}

/** Time order, then the order key: the order in which statements reach the log. */
export function compareStatements(a: SimStatement, b: SimStatement): number {
  if (a.submitAt !== b.submitAt) return a.submitAt - b.submitAt;
  for (let i = 0; i < Math.max(a.order.length, b.order.length); i++) {
    const d = (a.order[i] ?? -1) - (b.order[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Every statement of the run, in submission order. With `sign`, each carries its signed entry.
 * @throws {StatementError} when a payload breaks its schema (a bug in a strategy)
 */
export function buildStatements(w: SimWorld, keys: SimKeys, sign: boolean): SimStatement[] {
  const out: SimStatement[] = [];
  const add = (
    payloadType: PayloadType,
    payload: Payload,
    signer: SimKey,
    submitAt: number,
    branch: ReportDraft['branch'],
    order: number[],
  ): string => {
    const payloadBytes = canonicalBytes(payload);
    const hash = payloadHash(payloadBytes);
    const s: SimStatement = {
      payloadType,
      payload,
      payloadBytes,
      payloadHash: hash,
      signer,
      submitAt,
      branch,
      order,
    };
    if (sign) s.entry = makeStatement(payloadType, payload as never, signer.signer).entry;
    out.push(s);
    return hash;
  };
  const setupAt = w.t0 - 2 * w.scenario.log.checkpointSeconds;
  const time = formatTime(setupAt);

  // Lab statements: registrations of declared nodes, the inventory, the pause.
  w.labs.forEach((l, li) => {
    const root = keys.labs.get(l.id)!;
    const nodes = w.nodes.filter((n) => n.lab === l.id && n.declared);
    nodes.forEach((n, ni) => {
      add(
        PAYLOAD_TYPE.registration,
        {
          v: 1,
          lab: l.id,
          action: 'add',
          role: 'node',
          key: keys.nodes.get(n.id)!.vkey,
          facility: n.facility,
          cluster: n.cluster,
          node: n.node,
          time,
        },
        root,
        setupAt,
        'both',
        [0, li, 0, ni],
      );
    });
    add(
      PAYLOAD_TYPE.inventory,
      {
        v: 1,
        lab: l.id,
        time,
        nodes: nodes.map((n) => ({
          facility: n.facility,
          cluster: n.cluster,
          node: n.node,
          gpus: n.gpus,
          model: n.model,
        })),
      },
      root,
      setupAt,
      'both',
      [0, li, 1],
    );
    add(
      PAYLOAD_TYPE.pause,
      {
        v: 1,
        lab: l.id,
        id: l.pause.id,
        start: formatTime(w.t0),
        end: null,
        scope: l.pause.scope,
        limits: {
          maxFlopPerDay: l.pause.maxFlopPerDay,
          allowedWorkloads: l.pause.allowedWorkloads as never,
        },
        reporting: {
          intervalSeconds: w.interval,
          maxDelaySeconds: w.scenario.reporting.maxDelaySeconds,
        },
      },
      root,
      setupAt,
      'both',
      [0, li, 2],
    );
  });

  // Usage chains, per node and per history.
  w.nodes.forEach((n, ni) => {
    if (!n.declared) return;
    const signer = keys.nodes.get(n.id)!;
    const forked = n.slots.some((s) => s.reports.some((r) => r.branch !== 'both'));
    const branches: ('main' | 'fork')[] = forked ? ['main', 'fork'] : ['main'];
    const chains = branches.map((b) => {
      let seq = 0;
      let prev = ZERO_HASH;
      const list: { k: number; payload: UsagePayload; hash: string; draft: ReportDraft }[] = [];
      for (const s of n.slots) {
        const payloadOf = (
          d: ReportDraft | undefined,
          agg = d?.aggregates ?? s.measured!,
        ): UsagePayload => ({
          v: 1,
          lab: n.lab,
          facility: n.facility,
          cluster: n.cluster,
          node: n.node,
          seq,
          prev,
          start: formatTime(s.start),
          end: formatTime(s.end),
          ...agg,
        });
        if (s.burnSeq) {
          // The daemon signed this interval's report; it never reached the log.
          prev = payloadHash(canonicalBytes(payloadOf(undefined)));
          seq++;
          continue;
        }
        for (const d of s.reports) {
          if (d.branch !== 'both' && d.branch !== b) continue;
          const payload = payloadOf(d);
          const hash = payloadHash(canonicalBytes(payload));
          list.push({ k: s.k, payload, hash, draft: d });
          prev = hash;
          seq++;
        }
      }
      return list;
    });
    const main = chains[0]!;
    const fork = chains[1];
    const inFork = new Set(fork?.map((x) => x.hash));
    const inMain = new Set(main.map((x) => x.hash));
    for (const x of main) {
      const branch = fork === undefined || inFork.has(x.hash) ? 'both' : 'main';
      add(PAYLOAD_TYPE.usage, x.payload, signer, x.draft.submitAt, branch, [1, x.k, 0, ni]);
    }
    for (const x of fork ?? []) {
      if (inMain.has(x.hash)) continue;
      add(PAYLOAD_TYPE.usage, x.payload, signer, x.draft.submitAt, 'fork', [1, x.k, 0, ni]);
    }
  });

  // Meter readings, per feed: the facility's true energy, less what a tampered meter misses,
  // split evenly over the feeds, each with its own relative error.
  w.facilities.forEach((f, fi) => {
    const mkeys = keys.meters.get(f.id) ?? [];
    if (!f.declared || mkeys.length === 0) return;
    const nodes = w.nodes.filter((n) => n.facility === f.id);
    mkeys.forEach((mk, m) => {
      const rng = stream(w.seed, `${f.id}/meter-${m + 1}`);
      let counter = Math.round(rng.uniform(1e9, 1e12));
      let seq = 0;
      let prev = ZERO_HASH;
      for (const s of f.slots) {
        let gpuJ = 0;
        for (const n of nodes) gpuJ += n.slots[s.k]!.truth.energyJ;
        const trueJ = f.truePue * gpuJ + f.baselineW * (s.end - s.start) - s.hideJ;
        const eps = rng.normal();
        if (s.drop) continue;
        const energyJ = Math.max(0, Math.round((trueJ / mkeys.length) * (1 + f.meterSigma * eps)));
        counter += energyJ;
        const payload: MeterPayload = {
          v: 1,
          facility: f.id,
          meter: `m${m + 1}`,
          seq,
          prev,
          start: formatTime(s.start),
          end: formatTime(s.end),
          energyJ,
          counterJ: counter,
        };
        prev = add(PAYLOAD_TYPE.meter, payload, mk, s.submitAt, 'both', [1, s.k, 1, fi, m]);
        seq++;
      }
    });
  });
  return out.sort(compareStatements);
}
