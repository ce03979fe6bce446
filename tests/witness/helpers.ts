/**
 * A log simulated in memory for driving witnesses as a log would: leaf hashes, signed
 * checkpoints of any size, RFC 6962 consistency proofs, and add-checkpoint request bodies.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utf8 } from '../../src/core/bytes.js';
import { consistencyProof, hashLeaf, rootFromLeafHashes } from '../../src/merkle/rfc9162.js';
import type { SignerKey } from '../../src/note/keys.js';
import { signCheckpoint } from '../../src/tlog/checkpoint.js';
import { silentLogger } from '../../src/util/logger.js';
import { formatAddCheckpointRequest } from '../../src/witness/protocol.js';
import { type RunningWitness, startWitness } from '../../src/witness/server.js';
import { type TestKey, testKey } from '../helpers/world.js';

export class FakeLog {
  readonly leaves: Uint8Array[] = [];

  constructor(
    readonly signer: SignerKey,
    readonly origin = signer.name,
  ) {}

  /** Appends `n` leaves whose data is `<tag> <index>`. */
  append(n: number, tag = 'entry'): this {
    for (let i = 0; i < n; i++) {
      this.leaves.push(hashLeaf(utf8(`${tag} ${this.leaves.length}`)));
    }
    return this;
  }

  get size(): number {
    return this.leaves.length;
  }

  root(size = this.size): Uint8Array {
    return rootFromLeafHashes(this.leaves.slice(0, size));
  }

  /** The checkpoint of `size`, signed by this log's key (or `signer`). */
  checkpoint(size = this.size, signer: SignerKey = this.signer): string {
    return signCheckpoint(
      { origin: this.origin, size, rootHash: this.root(size), extensions: [] },
      signer,
    );
  }

  proof(oldSize: number, size = this.size): Uint8Array[] {
    if (oldSize === 0 || oldSize === size) return [];
    return consistencyProof(oldSize, size, this.leaves);
  }

  /** An add-checkpoint body from `oldSize` to `size`, with a valid proof unless one is given. */
  request(oldSize: number, size = this.size, proof?: Uint8Array[], note?: string): string {
    return formatAddCheckpointRequest(
      oldSize,
      proof ?? this.proof(oldSize, size),
      note ?? this.checkpoint(size),
    );
  }
}

/** POSTs an add-checkpoint body; resolves with status, content type and text. */
export async function addCheckpoint(
  url: string,
  body: string,
): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

/** A witness of a test network: restartable on its port and data directory. */
export interface NetWitness {
  name: string;
  key: TestKey;
  dir: string;
  running: RunningWitness | undefined;
  port: number;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * Starts `n` witnesses (SQLite state in temp directories, 127.0.0.1, port 0) trusting `logVkey`.
 * Names are w1..wn; keys are deterministic.
 */
export async function startWitnesses(
  n: number,
  logVkeys: string[],
  now: () => number = Date.now,
): Promise<NetWitness[]> {
  const out: NetWitness[] = [];
  for (let i = 1; i <= n; i++) {
    const key = testKey(`witness${i}.example/w`, true);
    const dir = mkdtempSync(join(tmpdir(), 'vpause-witness-'));
    const boot = (port: number) =>
      startWitness({
        data: dir,
        host: '127.0.0.1',
        port,
        key: key.signer,
        logs: logVkeys,
        now,
        logger: silentLogger(),
      });
    const first = await boot(0);
    const w: NetWitness = {
      name: `w${i}`,
      key,
      dir,
      running: first,
      port: first.port,
      url: first.url,
      async stop() {
        await w.running?.close();
        w.running = undefined;
      },
      async restart() {
        if (w.running === undefined) w.running = await boot(w.port);
      },
    };
    out.push(w);
  }
  return out;
}

/** A tlog-policy text: the log, the witnesses with URLs, and `group all-witnesses <k> ...`. */
export function policyText(logVkey: string, ws: NetWitness[], k: number | 'none'): string {
  const lines = [`log ${logVkey}`];
  for (const w of ws) lines.push(`witness ${w.name} ${w.key.vkey} ${w.url}`);
  if (k === 'none') lines.push('quorum none');
  else {
    lines.push(`group witnesses ${k} ${ws.map((w) => w.name).join(' ')}`);
    lines.push('quorum witnesses');
  }
  return `${lines.join('\n')}\n`;
}

/** Writes a file in a fresh temp directory and returns its path. */
export function tempFile(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'vpause-')), name);
  writeFileSync(p, text);
  return p;
}
