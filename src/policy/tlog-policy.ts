/**
 * C2SP tlog-policy (../shared/specs/c2sp/tlog-policy.md): known logs, known witnesses, and the
 * quorum rule a checkpoint's cosignatures must meet.
 *
 *   log <vkey> [<url>]
 *   witness <name> <vkey> [<url>]
 *   group <name> all|any|<k> <name>...
 *   quorum <name>|none
 *
 * Every rule of the specification is enforced:
 * - fields are separated by ASCII spaces and tabs only; leading/trailing whitespace, blank lines
 *   and `#` comment lines are ignored; only tab, newline, 0x20–0x7E and non-ASCII characters may
 *   appear (so CR, i.e. CRLF files, is refused);
 * - witnesses and groups share one namespace; `none` is predefined and may not be defined or be a
 *   group member; names are compared as exact strings (no Unicode normalisation);
 * - a group lists at least one member; k is decimal with 1 ≤ k ≤ n (`any` = 1, `all` = n);
 * - a group or the quorum may only reference names defined on preceding lines (which rules out
 *   cycles);
 * - each defined name is listed as a group member at most once in the whole file (so every
 *   witness contributes to the quorum in only one way);
 * - exactly one quorum line;
 * - no two logs, and no two witnesses, wrap the same public key (whatever their names and IDs).
 *
 * vpause's choice of signature types ("implementations SHOULD select only the one(s) required"):
 * logs sign checkpoints with Ed25519 note signatures (0x01); witnesses cosign with tlog-cosignature
 * Ed25519 (0x04). Pure: no I/O.
 */
import { bytesEqual } from '../core/bytes.js';
import { KEY_TYPE_COSIGNATURE, KEY_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { PolicyError, quote } from './errors.js';
import {
  DEFAULT_LIMITS,
  expectFields,
  type PolicyLimits,
  type PolicyLine,
  publicKeyId,
  readKey,
  readUrl,
  splitPolicyLines,
} from './lines.js';

/** Signature types accepted for log keys. */
export const LOG_KEY_TYPES: readonly number[] = Object.freeze([KEY_TYPE_ED25519]);
/** Signature types accepted for witness keys. */
export const WITNESS_KEY_TYPES: readonly number[] = Object.freeze([KEY_TYPE_COSIGNATURE]);

/** The predefined name that, as the quorum, requires no cosignature. */
export const QUORUM_NONE = 'none';

export interface PolicyLog {
  /** its name must be the log's origin line (tlog-policy); checked when a checkpoint is verified */
  key: VerifierKey;
  url?: string;
  /** 1-based line of its definition */
  line: number;
}

export interface PolicyWitness {
  name: string;
  key: VerifierKey;
  url?: string;
  line: number;
}

export interface PolicyGroup {
  name: string;
  /** the threshold as written */
  spec: 'all' | 'any' | number;
  /** k: how many members must have witnessed */
  threshold: number;
  members: readonly string[];
  line: number;
}

/** A parsed tlog-policy. */
export interface TlogPolicy {
  /** in file order */
  readonly logs: readonly PolicyLog[];
  /** by name, in file order */
  readonly witnesses: ReadonlyMap<string, PolicyWitness>;
  /** by name, in file order */
  readonly groups: ReadonlyMap<string, PolicyGroup>;
  /** a witness name, a group name, or `none` */
  readonly quorum: string;
}

export interface TlogPolicyParseOptions {
  /** label for error messages; default "policy" */
  file?: string;
  limits?: Partial<PolicyLimits>;
}

/** The directives a tlog-policy file may contain. */
export const TLOG_DIRECTIVES: ReadonlySet<string> = new Set(['log', 'witness', 'group', 'quorum']);

const DECIMAL_K = /^[0-9]+$/;

/**
 * Incremental tlog-policy builder: feed it significant lines in file order, then `finish()`.
 * Used by {@link parseTlogPolicy} and by the vpause policy parser, whose files interleave
 * tlog-policy lines with vpause lines.
 */
export class TlogPolicyBuilder {
  private readonly file: string;
  private readonly limits: PolicyLimits;
  private readonly logs: PolicyLog[] = [];
  private readonly witnesses = new Map<string, PolicyWitness>();
  private readonly groups = new Map<string, PolicyGroup>();
  private readonly logKeys = new Set<string>();
  private readonly witnessKeys = new Set<string>();
  /** names already listed as a group member somewhere */
  private readonly listed = new Set<string>();
  private quorum: string | undefined;

  constructor(file = 'policy', limits: PolicyLimits = DEFAULT_LIMITS) {
    this.file = file;
    this.limits = limits;
  }

  /**
   * Applies one tlog-policy line (its first field must be a tlog-policy directive).
   * @throws {PolicyError} for any rule the line breaks
   */
  add(l: PolicyLine): void {
    switch (l.fields[0]) {
      case 'log':
        this.addLog(l);
        return;
      case 'witness':
        this.addWitness(l);
        return;
      case 'group':
        this.addGroup(l);
        return;
      case 'quorum':
        this.setQuorum(l);
        return;
      default:
        throw new PolicyError(
          'POLICY_UNKNOWN_DIRECTIVE',
          this.file,
          l.line,
          `unknown directive ${quote(l.fields[0] ?? '')}`,
        );
    }
  }

  private fail(
    code: ConstructorParameters<typeof PolicyError>[0],
    line: number,
    msg: string,
  ): never {
    throw new PolicyError(code, this.file, line, msg);
  }

  private isDefined(name: string): boolean {
    return name === QUORUM_NONE || this.witnesses.has(name) || this.groups.has(name);
  }

  private checkNewName(name: string, line: number): void {
    if (name === QUORUM_NONE) this.fail('POLICY_RESERVED_NAME', line, '"none" is predefined');
    if (this.isDefined(name))
      this.fail('POLICY_DUPLICATE', line, `name ${quote(name)} defined twice`);
  }

  private addLog(l: PolicyLine): void {
    expectFields(l, this.file, 2, 3, 'log <vkey> [<url>]');
    const key = readKey(l.fields[1]!, LOG_KEY_TYPES, 'log', this.file, l.line);
    const id = publicKeyId(key);
    if (this.logKeys.has(id)) this.fail('POLICY_DUPLICATE', l.line, 'duplicate log public key');
    if (this.logs.length >= this.limits.logs) {
      this.fail('POLICY_LIMIT', l.line, `more than ${this.limits.logs} logs`);
    }
    this.logKeys.add(id);
    const log: PolicyLog = { key, line: l.line };
    if (l.fields[2] !== undefined) log.url = readUrl(l.fields[2], this.file, l.line);
    this.logs.push(log);
  }

  private addWitness(l: PolicyLine): void {
    expectFields(l, this.file, 3, 4, 'witness <name> <vkey> [<url>]');
    const name = l.fields[1]!;
    this.checkNewName(name, l.line);
    const key = readKey(l.fields[2]!, WITNESS_KEY_TYPES, 'witness', this.file, l.line);
    const id = publicKeyId(key);
    if (this.witnessKeys.has(id)) {
      this.fail('POLICY_DUPLICATE', l.line, `witness ${quote(name)} repeats another witness's key`);
    }
    if (this.witnesses.size >= this.limits.witnesses) {
      this.fail('POLICY_LIMIT', l.line, `more than ${this.limits.witnesses} witnesses`);
    }
    this.witnessKeys.add(id);
    const w: PolicyWitness = { name, key, line: l.line };
    if (l.fields[3] !== undefined) w.url = readUrl(l.fields[3], this.file, l.line);
    this.witnesses.set(name, w);
  }

  private addGroup(l: PolicyLine): void {
    expectFields(l, this.file, 4, Number.POSITIVE_INFINITY, 'group <name> all|any|<k> <name>...');
    const name = l.fields[1]!;
    const kToken = l.fields[2]!;
    const members = l.fields.slice(3);
    this.checkNewName(name, l.line);
    let spec: PolicyGroup['spec'];
    let threshold: number;
    if (kToken === 'all') {
      spec = 'all';
      threshold = members.length;
    } else if (kToken === 'any') {
      spec = 'any';
      threshold = 1;
    } else if (DECIMAL_K.test(kToken)) {
      threshold = Number(kToken);
      spec = threshold;
      if (!(threshold >= 1 && threshold <= members.length)) {
        this.fail(
          'POLICY_THRESHOLD',
          l.line,
          `group ${quote(name)}: threshold ${quote(kToken)} not in 1..${members.length}`,
        );
      }
    } else {
      this.fail(
        'POLICY_SYNTAX',
        l.line,
        `group ${quote(name)}: threshold ${quote(kToken)} is not all, any or a decimal number`,
      );
    }
    const seen = new Set<string>();
    for (const m of members) {
      if (m === QUORUM_NONE) {
        this.fail(
          'POLICY_RESERVED_NAME',
          l.line,
          `group ${quote(name)}: "none" cannot be a member`,
        );
      }
      if (!this.witnesses.has(m) && !this.groups.has(m)) {
        this.fail(
          'POLICY_UNKNOWN_NAME',
          l.line,
          `group ${quote(name)}: member ${quote(m)} is not defined on an earlier line`,
        );
      }
      if (seen.has(m) || this.listed.has(m)) {
        this.fail(
          'POLICY_DUPLICATE',
          l.line,
          `group ${quote(name)}: ${quote(m)} is already listed as a group member`,
        );
      }
      seen.add(m);
    }
    if (this.groups.size >= this.limits.groups) {
      this.fail('POLICY_LIMIT', l.line, `more than ${this.limits.groups} groups`);
    }
    for (const m of members) this.listed.add(m);
    this.groups.set(name, { name, spec, threshold, members, line: l.line });
  }

  private setQuorum(l: PolicyLine): void {
    expectFields(l, this.file, 2, 2, 'quorum <name>');
    if (this.quorum !== undefined) this.fail('POLICY_DUPLICATE', l.line, 'second quorum line');
    const name = l.fields[1]!;
    if (!this.isDefined(name)) {
      this.fail(
        'POLICY_UNKNOWN_NAME',
        l.line,
        `quorum ${quote(name)} is not defined on an earlier line`,
      );
    }
    this.quorum = name;
  }

  /**
   * Returns the policy.
   * @throws {PolicyError} POLICY_NO_QUORUM when no quorum line was seen
   */
  finish(): TlogPolicy {
    if (this.quorum === undefined) {
      throw new PolicyError('POLICY_NO_QUORUM', this.file, undefined, 'no quorum line');
    }
    return {
      logs: [...this.logs],
      witnesses: new Map(this.witnesses),
      groups: new Map(this.groups),
      quorum: this.quorum,
    };
  }
}

function resolveLimits(limits?: Partial<PolicyLimits>): PolicyLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}

/**
 * Parses a C2SP tlog-policy file.
 * @throws {PolicyError} POLICY_SYNTAX, POLICY_UNKNOWN_DIRECTIVE, POLICY_DUPLICATE,
 *   POLICY_UNKNOWN_NAME, POLICY_RESERVED_NAME, POLICY_THRESHOLD, POLICY_KEY, POLICY_NO_QUORUM or
 *   POLICY_LIMIT, naming the line
 */
export function parseTlogPolicy(text: string, options: TlogPolicyParseOptions = {}): TlogPolicy {
  const file = options.file ?? 'policy';
  const limits = resolveLimits(options.limits);
  const b = new TlogPolicyBuilder(file, limits);
  for (const l of splitPolicyLines(text, file, limits)) b.add(l);
  return b.finish();
}

/**
 * True when the witnesses whose cosignatures verified (`cosignedBy`, by witness name) satisfy the
 * policy's quorum. Names in `cosignedBy` that are not witnesses of the policy (for example group
 * names) count for nothing. `quorum none` is always satisfied.
 */
export function evaluateQuorum(policy: TlogPolicy, cosignedBy: ReadonlySet<string>): boolean {
  const memo = new Map<string, boolean>();
  const witnessed = (name: string): boolean => {
    const cached = memo.get(name);
    if (cached !== undefined) return cached;
    memo.set(name, false); // a hand-built policy with a cycle then evaluates to false, not forever
    let ok = false;
    if (name === QUORUM_NONE) ok = true;
    else if (policy.witnesses.has(name)) ok = cosignedBy.has(name);
    else {
      const g = policy.groups.get(name);
      if (g !== undefined) {
        let count = 0;
        for (const m of g.members) {
          if (witnessed(m)) count++;
          if (count >= g.threshold) break;
        }
        ok = count >= g.threshold;
      }
    }
    memo.set(name, ok);
    return ok;
  };
  return witnessed(policy.quorum);
}

/**
 * The witnesses whose cosignatures can count towards the quorum (those reachable from the quorum
 * through groups), in file order. Empty for `quorum none`. A verifier needs only these keys; a log
 * needs only these witnesses' cosignatures.
 */
export function quorumWitnesses(policy: TlogPolicy): PolicyWitness[] {
  const reached = new Set<string>();
  const walk = (name: string): void => {
    if (reached.has(name)) return;
    reached.add(name);
    const g = policy.groups.get(name);
    if (g !== undefined) for (const m of g.members) walk(m);
  };
  walk(policy.quorum);
  return [...policy.witnesses.values()].filter((w) => reached.has(w.name));
}

/** The log whose key has this name and key ID (as a signature line names it), if any. */
export function findLog(
  policy: TlogPolicy,
  name: string,
  keyId: Uint8Array,
): PolicyLog | undefined {
  return policy.logs.find((l) => l.key.name === name && bytesEqual(l.key.keyId, keyId));
}

/** The witness whose key has this key name and key ID (as a cosignature line names it), if any. */
export function findWitness(
  policy: TlogPolicy,
  keyName: string,
  keyId: Uint8Array,
): PolicyWitness | undefined {
  for (const w of policy.witnesses.values()) {
    if (w.key.name === keyName && bytesEqual(w.key.keyId, keyId)) return w;
  }
  return undefined;
}

/**
 * Writes a policy back as tlog-policy text: logs, then witnesses, groups and the quorum in
 * definition order (which keeps every reference after its definition). Parsing the output gives
 * an equal policy.
 */
export function formatTlogPolicy(policy: TlogPolicy): string {
  const out: string[] = [];
  for (const l of policy.logs)
    out.push(l.url === undefined ? `log ${l.key.vkey}` : `log ${l.key.vkey} ${l.url}`);
  type Def = { line: number; text: string };
  const defs: Def[] = [];
  for (const w of policy.witnesses.values()) {
    const text = `witness ${w.name} ${w.key.vkey}${w.url === undefined ? '' : ` ${w.url}`}`;
    defs.push({ line: w.line, text });
  }
  for (const g of policy.groups.values()) {
    defs.push({ line: g.line, text: `group ${g.name} ${g.spec} ${g.members.join(' ')}` });
  }
  defs.sort((a, b) => a.line - b.line);
  for (const d of defs) out.push(d.text);
  out.push(`quorum ${policy.quorum}`);
  return `${out.join('\n')}\n`;
}
