/**
 * `vpause lab …`: the lab's statements, signed with the lab root key, published to the log and
 * confirmed by a verified receipt. Each prints the log index of its statement.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DaemonError } from '../../nodes/daemon/errors.js';
import { LogClient } from '../../nodes/daemon/log-client.js';
import { readSignerKey, readVerifierKey } from '../../nodes/daemon/util.js';
import { publishStatement } from '../../nodes/lab/publish.js';
import {
  inventoryFromYaml,
  labOfKey,
  PAYLOAD_TYPE,
  pauseFromYaml,
  registrationPayload,
  signLabStatement,
} from '../../nodes/lab/statements.js';
import type { PayloadOf, PayloadType } from '../../protocol/src/index.js';
import { CliExit } from './exit.js';

interface CommonOptions {
  key: string;
  log: string;
  logKey: string;
  origin?: string;
  timeout: string;
  receipt?: string;
  json: boolean;
}

interface NodeOptions extends CommonOptions {
  nodeKey: string;
  facility: string;
  cluster: string;
  node: string;
  time?: string;
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--key <file>', 'the lab root key (named <lab>/root)')
    .requiredOption('--log <url>', 'base URL of the log')
    .requiredOption('--log-key <vkey>', "the log's verifier key, or a .vkey file")
    .option('--origin <origin>', "the log's checkpoint origin, when not its key name")
    .option('--timeout <seconds>', 'give up waiting for the receipt after this long', '60')
    .option('--receipt <file>', 'write the verified receipt (C2SP tlog-proof) here')
    .option('--json', 'print {index, leafHash, checkpointSize} as JSON', false);
}

function config(e: unknown): never {
  if (e instanceof DaemonError && e.code === 'DAEMON_CONFIG_INVALID')
    throw new CliExit(2, e.message);
  throw e;
}

async function publish<T extends PayloadType>(
  o: CommonOptions,
  type: T,
  build: (lab: string, nowMs: number) => PayloadOf<T> | Promise<PayloadOf<T>>,
): Promise<void> {
  const timeout = Number(o.timeout);
  if (!(timeout > 0)) throw new CliExit(2, `--timeout must be a positive number of seconds`);
  try {
    new URL(o.log);
  } catch {
    throw new CliExit(2, `--log must be a URL, not ${o.log}`);
  }
  let entry: Uint8Array;
  let logKey: Awaited<ReturnType<typeof readVerifierKey>>;
  try {
    const signer = await readSignerKey(o.key);
    const lab = labOfKey(signer);
    logKey = await readVerifierKey(o.logKey);
    entry = signLabStatement(type, await build(lab, Date.now()), signer).entry;
  } catch (e) {
    config(e);
  }
  const client = new LogClient({
    url: o.log,
    logKey,
    ...(o.origin !== undefined ? { origin: o.origin } : {}),
  });
  const p = await publishStatement(entry, client, { timeoutMs: timeout * 1000 });
  if (o.receipt !== undefined) await writeFile(o.receipt, p.receipt.text);
  process.stdout.write(
    o.json
      ? `${JSON.stringify({ index: p.index, leafHash: p.leafHash, checkpointSize: p.receipt.checkpoint.size })}\n`
      : `${p.index}\n`,
  );
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new CliExit(2, `cannot read ${path}: ${(e as Error).message}`);
  }
}

function nodeCommand(lab: Command, name: string, action: 'add' | 'revoke', description: string) {
  common(
    lab
      .command(name)
      .description(description)
      .requiredOption('--node-key <vkey>', "the node's verifier key, or its .vkey file")
      .requiredOption('--facility <id>', 'facility the node is in')
      .requiredOption('--cluster <id>', 'cluster the node is in')
      .requiredOption('--node <id>', 'the node')
      .option('--time <time>', 'statement time, RFC 3339 UTC (default now)'),
  ).action(async (o: NodeOptions) => {
    let nodeKey: Awaited<ReturnType<typeof readVerifierKey>>;
    try {
      nodeKey = await readVerifierKey(o.nodeKey);
    } catch (e) {
      config(e);
    }
    await publish(o, PAYLOAD_TYPE.registration, (labName, now) =>
      registrationPayload(
        labName,
        {
          action,
          nodeKey,
          facility: o.facility,
          cluster: o.cluster,
          node: o.node,
          ...(o.time !== undefined ? { time: o.time } : {}),
        },
        now,
      ),
    );
  });
}

/** `vpause lab register-node | revoke-node | inventory | declare-pause`. */
export function registerLab(program: Command): void {
  const lab = program.command('lab').description("the lab's statements, signed with its root key");
  nodeCommand(lab, 'register-node', 'add', 'register a node key for facility/cluster/node');
  nodeCommand(lab, 'revoke-node', 'revoke', 'revoke a node key from now (or --time) on');
  common(
    lab
      .command('inventory')
      .description('declare the fleet from inventory.yaml')
      .requiredOption(
        '--file <inventory.yaml>',
        'the fleet: nodes with facility, cluster, gpus, model',
      ),
  ).action(async (o: CommonOptions & { file: string }) => {
    const text = await readText(o.file);
    await publish(o, PAYLOAD_TYPE.inventory, (l, now) => inventoryFromYaml(text, l, now, o.file));
  });
  common(
    lab
      .command('declare-pause')
      .description('declare a pause from pause.yaml')
      .requiredOption(
        '--file <pause.yaml>',
        'the declaration: id, start, end, scope, limits, reporting',
      ),
  ).action(async (o: CommonOptions & { file: string }) => {
    const text = await readText(o.file);
    await publish(o, PAYLOAD_TYPE.pause, (l) => pauseFromYaml(text, l, o.file));
  });
}
