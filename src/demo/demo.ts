/**
 * The local deployment behind `npm start`: a log with three witnesses (2-of-3 quorum), two labs
 * with registered nodes (lab A replays the real H100 and H200 captures and runs a synthetic node;
 * lab B runs synthetic nodes), a facility meter per lab, inventories and pause declarations, and
 * a verifier service following the log. Lab A is honest; lab B hides an undeclared training
 * cluster at its facility, which its meter sees.
 *
 * Everything listens on 127.0.0.1 (ephemeral ports) and keeps its state under one data
 * directory; a second start reuses the keys, the log, the witnesses' state and the nodes' outboxes,
 * and declares a new pause for each lab.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import {
  LogClient,
  type NodeStartConfig,
  type RunningNode,
  startNode,
} from '../../nodes/daemon/index.js';
import { publishStatement, signLabStatement } from '../../nodes/lab/index.js';
import { type MeterStartConfig, type RunningMeter, startMeter } from '../../nodes/meter/index.js';
import { PAYLOAD_TYPE } from '../../protocol/src/index.js';
import { type RunningLog, startLog } from '../log/server.js';
import {
  generateKey,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  parsePrivateKey,
  parseVerifierKey,
  type SignerKey,
  type VerifierKey,
  verifierKeyOf,
} from '../note/keys.js';
import { parseVPausePolicy } from '../policy/vpause-policy.js';
import { type RunningVerifier, startVerifier } from '../verifier/service.js';
import { type RunningWitness, startWitness } from '../witness/server.js';

/** Reporting interval of the demo's pauses, seconds (short, so verdicts form within a minute). */
export const DEMO_INTERVAL_S = 10;
/** Largest delay the pauses allow between an interval's end and its witnessed logging. */
export const DEMO_MAX_DELAY_S = 40;

const HERE = dirname(fileURLToPath(import.meta.url));
const CAPTURES = resolve(HERE, '../../fixtures/telemetry');
const H100_CAPTURE = join(
  CAPTURES,
  'nvidia-smi-capture__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt',
);
const H200_CAPTURE = join(CAPTURES, 'nvidia-smi-capture__linux-x86_64__nvidia-h200__590.48.01.txt');

export interface DemoOptions {
  /** Where everything is kept (default `.vpause/demo`). */
  data: string;
  logger: Logger;
  /** Called with each line the demo has to say. */
  say: (line: string) => void;
}

interface NodeSpec {
  lab: 'a' | 'b';
  node: string;
  gpus: number;
  model: 'H100-SXM' | 'H200-SXM';
  collector:
    | { kind: 'replay'; file: string }
    | { kind: 'synthetic'; seed: string; model: 'H100' | 'H200'; gpus: number };
}

const LABS = { a: 'lab-a.example', b: 'lab-b.example' } as const;
const FACILITY = { a: 'fa', b: 'fb' } as const;
const NODES: NodeSpec[] = [
  {
    lab: 'a',
    node: 'a-h100',
    gpus: 1,
    model: 'H100-SXM',
    collector: { kind: 'replay', file: H100_CAPTURE },
  },
  {
    lab: 'a',
    node: 'a-h200',
    gpus: 1,
    model: 'H200-SXM',
    collector: { kind: 'replay', file: H200_CAPTURE },
  },
  {
    lab: 'a',
    node: 'a-syn1',
    gpus: 8,
    model: 'H100-SXM',
    collector: { kind: 'synthetic', seed: 'a-syn1', model: 'H100', gpus: 8 },
  },
  {
    lab: 'b',
    node: 'b-syn1',
    gpus: 8,
    model: 'H100-SXM',
    collector: { kind: 'synthetic', seed: 'b-syn1', model: 'H100', gpus: 8 },
  },
  {
    lab: 'b',
    node: 'b-syn2',
    gpus: 8,
    model: 'H100-SXM',
    collector: { kind: 'synthetic', seed: 'b-syn2', model: 'H100', gpus: 8 },
  },
];
/** Lab B's undeclared cluster: 64 H100 training, drawing power its meter sees. */
const HIDDEN_H100 = 64;
const PUE = 1.2;
const BASELINE_W = 20_000;

interface KeyFiles {
  signer: SignerKey;
  vkey: string;
}

function keyFile(dir: string, name: string, keyName: string, type = KEY_TYPE_ED25519): KeyFiles {
  const path = join(dir, `${name}.key`);
  if (!existsSync(path)) {
    const k = generateKey(keyName, type, (n) => new Uint8Array(randomBytes(n)));
    writeFileSync(path, `${k.privateKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, `${name}.vkey`), `${k.vkey}\n`);
  }
  const signer = parsePrivateKey(readFileSync(path, 'utf8'));
  return { signer, vkey: verifierKeyOf(signer).vkey };
}

interface DemoState {
  starts: number;
  registered: string[];
  inventories: string[];
}

function alignUp(ms: number, stepS: number): number {
  const step = stepS * 1000;
  return Math.ceil(ms / step) * step;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface RunningDemo extends AsyncDisposable {
  log: RunningLog;
  witnesses: RunningWitness[];
  nodes: RunningNode[];
  meters: RunningMeter[];
  verifier: RunningVerifier;
  /** The pause each lab declared at this start. */
  pauses: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the whole local deployment. @throws on any part failing to start (all are stopped) */
export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const data = resolve(opts.data);
  const keys = join(data, 'keys');
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  const statePath = join(data, 'demo.json');
  const state: DemoState = existsSync(statePath)
    ? JSON.parse(readFileSync(statePath, 'utf8'))
    : { starts: 0, registered: [], inventories: [] };
  state.starts++;
  const saveState = () => writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`);
  saveState();

  const logKey = keyFile(keys, 'log', 'log.demo.vpause.example');
  const witnessKeys = [1, 2, 3].map((i) =>
    keyFile(keys, `witness-${i}`, `witness-${i}.demo.vpause.example`, KEY_TYPE_COSIGNATURE),
  );
  const labKeys = {
    a: keyFile(keys, 'lab-a-root', `${LABS.a}/root`),
    b: keyFile(keys, 'lab-b-root', `${LABS.b}/root`),
  };
  const meterKeys = {
    a: keyFile(keys, 'meter-fa', 'meter-fa.demo.vpause.example'),
    b: keyFile(keys, 'meter-fb', 'meter-fb.demo.vpause.example'),
  };
  const nodeKeys = new Map(
    NODES.map((n) => [n.node, keyFile(keys, `node-${n.node}`, `${LABS[n.lab]}/${n.node}`)]),
  );
  const verifierKey = keyFile(keys, 'verifier', 'verifier.demo.vpause.example');

  const stack: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    for (const s of stack.reverse()) await s.close().catch(() => {});
  };
  try {
    // Witnesses.
    const witnesses: RunningWitness[] = [];
    for (const [i, wk] of witnessKeys.entries()) {
      const w = await startWitness({
        data: join(data, `witness-${i + 1}`),
        host: '127.0.0.1',
        port: 0,
        key: wk.signer,
        logs: [parseVerifierKey(logKey.vkey)],
        logger: opts.logger.child({ service: `witness-${i + 1}` }),
      });
      stack.push(w);
      witnesses.push(w);
    }
    const tlogPolicy = [
      `log ${logKey.vkey}`,
      ...witnesses.map((w, i) => `witness w${i + 1} ${witnessKeys[i]!.vkey} ${w.url}`),
      'group quorum-group 2 w1 w2 w3',
      'quorum quorum-group',
    ].join('\n');
    writeFileSync(join(data, 'witness-policy.txt'), `${tlogPolicy}\n`);
    writeFileSync(
      join(data, 'ADMIT.txt'),
      [
        `lab ${labKeys.a.vkey}`,
        `lab ${labKeys.b.vkey}`,
        `meter ${FACILITY.a} ${meterKeys.a.vkey}`,
        `meter ${FACILITY.b} ${meterKeys.b.vkey}`,
        '',
      ].join('\n'),
    );

    // The log.
    const log = await startLog({
      data: join(data, 'log'),
      host: '127.0.0.1',
      port: 0,
      key: logKey.signer,
      admitFile: join(data, 'ADMIT.txt'),
      witnessPolicy: join(data, 'witness-policy.txt'),
      logger: opts.logger.child({ service: 'log' }),
    });
    stack.push(log);
    const client = new LogClient({ url: log.url, logKey: parseVerifierKey(logKey.vkey) });
    const publish = async (entry: Uint8Array, what: string) => {
      const p = await publishStatement(entry, client, { timeoutMs: 60_000 });
      opts.logger.info({ what, index: p.index }, 'lab statement logged');
      return p;
    };

    // Lab statements: registrations and inventories once; a new pause at every start.
    for (const n of NODES) {
      const id = `${n.lab}/${n.node}`;
      if (state.registered.includes(id)) continue;
      const { entry } = signLabStatement(
        PAYLOAD_TYPE.registration,
        {
          v: 1,
          lab: LABS[n.lab],
          action: 'add',
          role: 'node',
          key: nodeKeys.get(n.node)!.vkey,
          facility: FACILITY[n.lab],
          cluster: 'c1',
          node: n.node,
          time: iso(Date.now() - 60_000),
        },
        labKeys[n.lab].signer,
      );
      await publish(entry, `registration ${id}`);
      state.registered.push(id);
      saveState();
    }
    for (const lab of ['a', 'b'] as const) {
      if (state.inventories.includes(lab)) continue;
      const { entry } = signLabStatement(
        PAYLOAD_TYPE.inventory,
        {
          v: 1,
          lab: LABS[lab],
          time: iso(Date.now() - 30_000),
          nodes: NODES.filter((n) => n.lab === lab).map((n) => ({
            facility: FACILITY[lab],
            cluster: 'c1',
            node: n.node,
            gpus: n.gpus,
            model: n.model,
          })),
        },
        labKeys[lab].signer,
      );
      await publish(entry, `inventory ${LABS[lab]}`);
      state.inventories.push(lab);
      saveState();
    }
    const pauseStart = alignUp(Date.now() + 15_000, DEMO_INTERVAL_S);
    const pauseId = `pause-${state.starts}`;
    for (const lab of ['a', 'b'] as const) {
      const { entry } = signLabStatement(
        PAYLOAD_TYPE.pause,
        {
          v: 1,
          lab: LABS[lab],
          id: pauseId,
          start: iso(pauseStart),
          end: null,
          scope: ['*'],
          limits: { maxFlopPerDay: 1e21, allowedWorkloads: ['idle', 'inference', 'maintenance'] },
          reporting: { intervalSeconds: DEMO_INTERVAL_S, maxDelaySeconds: DEMO_MAX_DELAY_S },
        },
        labKeys[lab].signer,
      );
      await publish(entry, `pause ${LABS[lab]} ${pauseId}`);
    }

    // Attestation nodes.
    const nodes: RunningNode[] = [];
    const submit = {
      minBackoffMs: 200,
      maxBackoffMs: 5_000,
      receiptPollMs: 200,
      maxReceiptPollMs: 2_000,
    };
    for (const n of NODES) {
      const nodeCfg: NodeStartConfig = {
        identity: { lab: LABS[n.lab], facility: FACILITY[n.lab], cluster: 'c1', node: n.node },
        key: nodeKeys.get(n.node)!.signer,
        log: { url: log.url, key: parseVerifierKey(logKey.vkey), timeoutMs: 10_000 },
        intervalSeconds: DEMO_INTERVAL_S,
        settleMs: 1_500,
        collector:
          n.collector.kind === 'replay'
            ? {
                kind: 'replay',
                file: n.collector.file,
                format: 'nvidia-smi-capture',
                phases: ['idle'],
                stepMs: 1_000,
                loopGapMs: 1_000,
                loop: true,
              }
            : {
                kind: 'synthetic',
                seed: n.collector.seed,
                workload: 'idle',
                model: n.collector.model,
                gpus: n.collector.gpus,
                periodMs: 1_000,
                burstMeanMs: 60_000,
                energyCounter: false,
              },
        outbox: join(data, 'nodes', `${n.node}.outbox`),
        audit: {
          listen: { host: '127.0.0.1', port: 0 },
          verifiers: [parseVerifierKey(verifierKey.vkey)],
          windowSeconds: 300,
        },
        submit,
        retentionDays: 30,
      };
      const node = await startNode(nodeCfg, {
        logger: opts.logger.child({ service: `node-${n.node}` }),
        processMetrics: false,
      });
      stack.push(node);
      nodes.push(node);
    }

    // Facility meters: lab A's sees exactly its declared GPUs; lab B's also sees the hidden cluster.
    const meters: RunningMeter[] = [];
    for (const lab of ['a', 'b'] as const) {
      const declared = NODES.filter((n) => n.lab === lab);
      const gpus = [
        {
          model: 'H100' as const,
          count: declared.filter((n) => n.model === 'H100-SXM').reduce((s, n) => s + n.gpus, 0),
          workload: 'idle' as const,
        },
        ...(declared.some((n) => n.model === 'H200-SXM')
          ? [
              {
                model: 'H200' as const,
                count: declared
                  .filter((n) => n.model === 'H200-SXM')
                  .reduce((s, n) => s + n.gpus, 0),
                workload: 'idle' as const,
              },
            ]
          : []),
        ...(lab === 'b'
          ? [{ model: 'H100' as const, count: HIDDEN_H100, workload: 'training' as const }]
          : []),
      ];
      const meterCfg: MeterStartConfig = {
        identity: { facility: FACILITY[lab], meter: 'm1' },
        key: meterKeys[lab].signer,
        log: { url: log.url, key: parseVerifierKey(logKey.vkey), timeoutMs: 10_000 },
        intervalSeconds: DEMO_INTERVAL_S,
        settleMs: 1_500,
        source: {
          kind: 'synthetic',
          seed: `meter-${lab}`,
          periodMs: 1_000,
          pue: PUE,
          baselineW: BASELINE_W,
          noise: 0.005,
          gpus,
        },
        outbox: join(data, 'meters', `${FACILITY[lab]}.outbox`),
        submit,
      };
      const m = await startMeter(meterCfg, {
        logger: opts.logger.child({ service: `meter-${lab}` }),
      });
      stack.push(m);
      meters.push(m);
    }

    // The verifier, trusting the log, the witness quorum, both labs' root keys and the meters.
    const policyText = [
      tlogPolicy,
      `lab ${labKeys.a.vkey}`,
      `lab ${labKeys.b.vkey}`,
      `meter ${FACILITY.a} ${meterKeys.a.vkey}`,
      `meter ${FACILITY.b} ${meterKeys.b.vkey}`,
      `facility ${FACILITY.a} pue 1.1 1.3 baseline-w ${BASELINE_W} meter-sigma 0.02`,
      `facility ${FACILITY.b} pue 1.1 1.3 baseline-w ${BASELINE_W} meter-sigma 0.02`,
      `verifier-key ${join(keys, 'verifier.key')}`,
      'alpha 0.01',
      '',
    ].join('\n');
    writeFileSync(join(data, 'verifier-policy.txt'), policyText);
    const verifier = await startVerifier({
      policy: parseVPausePolicy(policyText, { file: join(data, 'verifier-policy.txt') }),
      logUrl: log.url,
      cacheDir: join(data, 'verifier'),
      pollIntervalMs: 2_000,
      host: '127.0.0.1',
      port: 0,
      logger: opts.logger.child({ service: 'verifier' }),
    });
    stack.push(verifier);

    return {
      log,
      witnesses,
      nodes,
      meters,
      verifier,
      pauses: { [LABS.a]: pauseId, [LABS.b]: pauseId },
      close: closeAll,
      [Symbol.asyncDispose]: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

export const DEMO_LABS = LABS;
export type { VerifierKey };
