/**
 * The lab's statements (DESIGN §3), signed with the lab root key: node registrations and
 * revocations, the inventory and pause declarations. Inputs come from flags and YAML files,
 * validated by zod; the payloads are then checked against the protocol schemas. Pure: no I/O.
 */
import { z } from 'zod';
import {
  formatTime,
  type InventoryPayload,
  inventorySchema,
  labOfRootKeyName,
  makeStatement,
  PAYLOAD_TYPE,
  type PausePayload,
  type PayloadOf,
  type PayloadType,
  pauseSchema,
  type RegistrationPayload,
  registrationSchema,
  type Statement,
} from '../../protocol/src/index.js';
import type { SignerKey, VerifierKey } from '../../src/note/keys.js';
import { DaemonError } from '../daemon/errors.js';
import { describeZodIssues, parseYamlWith } from '../daemon/util.js';

/**
 * The lab a root key speaks for: its name without `/root`.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID when the key is not named `<lab>/root`
 */
export function labOfKey(signer: SignerKey): string {
  const lab = labOfRootKeyName(signer.name);
  if (lab === null) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `key ${signer.name} is not a lab root key (its name must be <lab>/root)`,
    );
  }
  return lab;
}

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new DaemonError('DAEMON_CONFIG_INVALID', `${what}: ${describeZodIssues(r.error)}`, {
      cause: r.error,
    });
  }
  return r.data;
}

/** The current time in statement form (whole seconds, UTC). */
export function statementNow(nowMs: number): string {
  return formatTime(Math.floor(nowMs / 1000));
}

/** What a registration or revocation names. */
export interface RegistrationInput {
  action: 'add' | 'revoke';
  nodeKey: VerifierKey;
  facility: string;
  cluster: string;
  node: string;
  /** Statement time (RFC 3339 UTC, seconds); default now. */
  time?: string;
}

/**
 * A registration (`add`) or revocation (`revoke`) of a node key.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID when the payload breaks the registration schema
 */
export function registrationPayload(
  lab: string,
  input: RegistrationInput,
  nowMs: number,
): RegistrationPayload {
  return check(
    registrationSchema,
    {
      v: 1,
      lab,
      action: input.action,
      role: 'node',
      key: input.nodeKey.vkey,
      facility: input.facility,
      cluster: input.cluster,
      node: input.node,
      time: input.time ?? statementNow(nowMs),
    },
    'registration',
  );
}

/** inventory.yaml: the fleet (`lab` and `time` optional: the key's lab and now). */
export const inventoryFileSchema = z.strictObject({
  v: z.literal(1).optional(),
  lab: z.string().optional(),
  time: z.string().optional(),
  nodes: z.array(z.unknown()),
});

/** pause.yaml: the declaration (`lab` optional: the key's lab; `end` optional: open). */
export const pauseFileSchema = z.strictObject({
  v: z.literal(1).optional(),
  lab: z.string().optional(),
  id: z.string(),
  start: z.string(),
  end: z.string().nullable().optional(),
  scope: z.array(z.string()),
  limits: z.unknown(),
  reporting: z.unknown(),
});

function labMatches(fileLab: string | undefined, lab: string, label: string): void {
  if (fileLab !== undefined && fileLab !== lab) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `${label}: lab ${fileLab} is not the lab of the key (${lab})`,
    );
  }
}

/**
 * The inventory payload from inventory.yaml text.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID for bad YAML, a lab that is not the key's, or a
 *   payload that breaks the inventory schema (naming the first problems)
 */
export function inventoryFromYaml(
  text: string,
  lab: string,
  nowMs: number,
  label = 'inventory.yaml',
): InventoryPayload {
  const f = parseYamlWith(text, inventoryFileSchema, label);
  labMatches(f.lab, lab, label);
  return check(
    inventorySchema,
    { v: 1, lab, time: f.time ?? statementNow(nowMs), nodes: f.nodes },
    label,
  );
}

/**
 * The pause declaration payload from pause.yaml text.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID as {@link inventoryFromYaml}
 */
export function pauseFromYaml(text: string, lab: string, label = 'pause.yaml'): PausePayload {
  const f = parseYamlWith(text, pauseFileSchema, label);
  labMatches(f.lab, lab, label);
  return check(
    pauseSchema,
    {
      v: 1,
      lab,
      id: f.id,
      start: f.start,
      end: f.end ?? null,
      scope: f.scope,
      limits: f.limits,
      reporting: f.reporting,
    },
    label,
  );
}

/**
 * Signs a lab statement with the lab root key.
 * @throws {StatementError} PAYLOAD_SCHEMA, KEY_UNSUPPORTED, ENTRY_TOO_LARGE (makeStatement)
 */
export function signLabStatement<T extends PayloadType>(
  type: T,
  payload: PayloadOf<T>,
  signer: SignerKey,
): Statement {
  return makeStatement(type, payload, signer);
}

export { PAYLOAD_TYPE };
