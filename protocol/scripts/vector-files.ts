/**
 * The statement test vectors (protocol/vectors/), built from fixed seeds so that every byte is
 * reproducible (Ed25519 signatures are deterministic). Pure: returns file names and contents;
 * gen-vectors.ts writes them, and a test compares them with the committed files.
 *
 * Each statement vector is one JSON file: `comment`, the input (`entry` as a string, or
 * `entryHex` when the bytes are not UTF-8), `options` for parseEntry, the `verifierKey` to check
 * the signature with, and `expect`: `ok` or the StatementErrorCode that parseEntry or
 * verifyStatementSignature must throw. `ok` vectors also give the decoded payload, its JCS text,
 * the envelope, the canonical entry, the leaf hash and the payload hash.
 */
import { toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  formatVerifierKey,
  generateKey,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  keyIdString,
  type SignerKey,
} from '../../src/note/keys.js';
import { signEnvelope } from '../src/dsse.js';
import type { StatementErrorCode } from '../src/errors.js';
import { jcs } from '../src/jcs.js';
import {
  type Envelope,
  type InventoryPayload,
  type MeterPayload,
  PAYLOAD_TYPE,
  type PausePayload,
  type RegistrationPayload,
  type UsagePayload,
} from '../src/schemas.js';
import {
  chainKey,
  MAX_ENTRY_BYTES,
  makeStatement,
  payloadHash,
  ZERO_HASH,
} from '../src/statements.js';

// ---------------------------------------------------------------------------------------------
// Keys from fixed seeds

interface VectorKey {
  role: string;
  comment: string;
  type: number;
  privateKey: string;
  vkey: string;
  keyid: string;
  signer: SignerKey;
}

/** The seed of a vector key: SHA-256("vpause test vector key " || label). */
function makeKey(
  role: string,
  comment: string,
  name: string,
  type: number,
  label = `${name} ${type}`,
): VectorKey {
  const seed = sha256(utf8(`vpause test vector key ${label}`));
  const k = generateKey(name, type, (n) => {
    if (n !== 32) throw new RangeError('vector keys take 32-byte seeds');
    return seed;
  });
  return {
    role,
    comment,
    type,
    privateKey: k.privateKey,
    vkey: k.vkey,
    keyid: keyIdString(k.signer),
    signer: k.signer,
  };
}

function vectorKeys() {
  const labRoot = makeKey(
    'lab root',
    'root key of lab-a.example: signs its registrations, inventory and pause declarations',
    'lab-a.example/root',
    KEY_TYPE_ED25519,
  );
  const node = makeKey(
    'attestation node',
    'node key registered by lab-a.example for f1/c1/c1-n001: signs its usage reports',
    'lab-a.example/node/f1/c1/c1-n001',
    KEY_TYPE_ED25519,
  );
  const meter = makeKey(
    'facility meter',
    'meter key for facility f1, feed m1, listed in the verifier policy: signs meter readings',
    'inspector.example/meter/f1/m1',
    KEY_TYPE_ED25519,
  );
  const otherLab = makeKey(
    'another lab root',
    'root key of lab-b.example: a trusted key that did not sign the statements here',
    'lab-b.example/root',
    KEY_TYPE_ED25519,
  );
  const impostor = makeKey(
    'impostor',
    'a different key with the same name as the lab-a.example root key (so a different key ID); seed label "impostor of lab-a.example/root"',
    'lab-a.example/root',
    KEY_TYPE_ED25519,
    'impostor of lab-a.example/root',
  );
  const cosigner: VectorKey = {
    role: 'cosignature key',
    comment:
      'the lab-a.example root public key as a type 0x04 (tlog-cosignature) vkey: statements refuse it',
    type: KEY_TYPE_COSIGNATURE,
    privateKey: '',
    vkey: formatVerifierKey('lab-a.example/root', KEY_TYPE_COSIGNATURE, labRoot.signer.publicKey),
    keyid: '',
    signer: labRoot.signer,
  };
  return { labRoot, node, meter, otherLab, impostor, cosigner };
}

// ---------------------------------------------------------------------------------------------
// Payloads

function payloads(nodeVkey: string) {
  const registration: RegistrationPayload = {
    v: 1,
    lab: 'lab-a.example',
    action: 'add',
    role: 'node',
    key: nodeVkey,
    facility: 'f1',
    cluster: 'c1',
    node: 'c1-n001',
    time: '2026-11-27T00:00:00Z',
  };
  const revoke: RegistrationPayload = {
    ...registration,
    action: 'revoke',
    time: '2026-12-15T12:00:00Z',
  };
  const inventory: InventoryPayload = {
    v: 1,
    lab: 'lab-a.example',
    time: '2026-11-27T00:00:00Z',
    nodes: [
      { facility: 'f1', cluster: 'c1', node: 'c1-n001', gpus: 8, model: 'H100-SXM' },
      { facility: 'f1', cluster: 'c1', node: 'c1-n002', gpus: 8, model: 'H100-SXM' },
      { facility: 'f2', cluster: 'c7', node: 'host-17', gpus: 4, model: 'MI300X' },
    ],
  };
  const pauseOpen: PausePayload = {
    v: 1,
    lab: 'lab-a.example',
    id: 'pause-1',
    start: '2026-11-27T00:00:00Z',
    end: null,
    scope: ['*'],
    limits: { maxFlopPerDay: 1e21, allowedWorkloads: ['idle', 'inference', 'maintenance'] },
    reporting: { intervalSeconds: 300, maxDelaySeconds: 900 },
  };
  const pauseClosed: PausePayload = {
    v: 1,
    lab: 'lab-a.example',
    id: 'pause-2',
    start: '2026-12-01T00:00:00Z',
    end: '2027-01-01T00:00:00Z',
    scope: ['f1/c1', 'f2/c7'],
    limits: { maxFlopPerDay: 0, allowedWorkloads: ['idle'] },
    reporting: { intervalSeconds: 60, maxDelaySeconds: 300 },
  };
  const usage0: UsagePayload = {
    v: 1,
    lab: 'lab-a.example',
    facility: 'f1',
    cluster: 'c1',
    node: 'c1-n001',
    seq: 0,
    prev: ZERO_HASH,
    start: '2026-11-27T01:25:00Z',
    end: '2026-11-27T01:30:00Z',
    gpus: 8,
    gpuSeconds: 2400,
    energyJ: 168000,
    tensorActive: 0,
    flop: 0,
    workload: 'idle',
    bodyHash: toHex(sha256(utf8('usage body 0'))),
    samples: { count: 2400, root: toHex(sha256(utf8('usage samples 0'))) },
  };
  const usage1: UsagePayload = {
    ...usage0,
    seq: 1,
    prev: payloadHash(utf8(jcs(usage0))),
    start: '2026-11-27T01:30:00Z',
    end: '2026-11-27T01:35:00Z',
    gpuSeconds: 2399.5,
    energyJ: 1.5e6,
    tensorActive: 0.125,
    flop: 3.2e17,
    workload: 'inference',
    bodyHash: toHex(sha256(utf8('usage body 1'))),
    samples: { count: 2400, root: toHex(sha256(utf8('usage samples 1'))) },
  };
  const meter: MeterPayload = {
    v: 1,
    facility: 'f1',
    meter: 'm1',
    seq: 3,
    prev: toHex(sha256(utf8('meter reading 2'))),
    start: '2026-11-27T00:15:00Z',
    end: '2026-11-27T00:20:00Z',
    energyJ: 2.1e8,
    counterJ: 9.87e12,
  };
  return { registration, revoke, inventory, pauseOpen, pauseClosed, usage0, usage1, meter };
}

// ---------------------------------------------------------------------------------------------
// Vector construction

type Expect = 'ok' | StatementErrorCode;

interface Vector {
  comment: string;
  entry?: string;
  entryHex?: string;
  options?: { requireCanonical: boolean };
  verifierKey: string;
  expect: Expect;
  [k: string]: unknown;
}

function text(b: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
}

function leafHash(entry: Uint8Array): string {
  return toHex(sha256(Uint8Array.of(0x00), entry));
}

/** Envelope JSON (JCS) for arbitrary payload bytes, properly signed by `signer`. */
function signedEntry(payloadType: string, payload: Uint8Array, signer: SignerKey): string {
  return jcs(signEnvelope(payloadType, payload, signer));
}

/** An envelope whose payload field is replaced by `payload` (the signature is over the original). */
function withPayloadField(env: Envelope, payload: string): string {
  return jcs({ ...env, payload });
}

function okVector(
  comment: string,
  payloadType: (typeof PAYLOAD_TYPE)[keyof typeof PAYLOAD_TYPE],
  payload: object,
  signer: SignerKey,
  verifierKey: string,
): Vector {
  // biome-ignore lint/suspicious/noExplicitAny: the vector payload objects are typed by the caller
  const st = makeStatement(payloadType, payload as any, signer);
  const payloadJcs = jcs(payload);
  return {
    comment,
    entry: text(st.entry),
    verifierKey,
    expect: 'ok',
    payloadType,
    payload,
    payloadJcs,
    payloadHash: payloadHash(utf8(payloadJcs)),
    // biome-ignore lint/suspicious/noExplicitAny: as above
    chainKey: chainKey(payloadType, payload as any),
    envelope: st.envelope,
    canonicalEntry: text(st.entry),
    leafHash: leafHash(st.entry),
  };
}

function bad(
  comment: string,
  input: { entry: string } | { entryHex: string },
  verifierKey: string,
  expect: StatementErrorCode,
  options?: { requireCanonical: boolean },
): Vector {
  return {
    comment,
    ...input,
    ...(options === undefined ? {} : { options }),
    verifierKey,
    expect,
  };
}

function buildVectors(): { keys: ReturnType<typeof vectorKeys>; vectors: Map<string, Vector> } {
  const keys = vectorKeys();
  const { labRoot, node, meter, otherLab, impostor, cosigner } = keys;
  const p = payloads(node.vkey);
  const U = PAYLOAD_TYPE.usage;
  const usageJcs = utf8(jcs(p.usage1));
  const usageEnv = signEnvelope(U, usageJcs, node.signer);
  const usageEntry = jcs(usageEnv);
  const v = new Map<string, Vector>();
  const add = (name: string, vec: Vector) => {
    if (v.has(name)) throw new Error(`duplicate vector ${name}`);
    v.set(name, vec);
  };

  // --- valid statements --------------------------------------------------------------------
  add(
    'ok-registration-add',
    okVector(
      'a lab root key registers a node key for f1/c1/c1-n001',
      PAYLOAD_TYPE.registration,
      p.registration,
      labRoot.signer,
      labRoot.vkey,
    ),
  );
  add(
    'ok-registration-revoke',
    okVector(
      'a lab root key revokes the node key from the given time on',
      PAYLOAD_TYPE.registration,
      p.revoke,
      labRoot.signer,
      labRoot.vkey,
    ),
  );
  add(
    'ok-inventory',
    okVector(
      'an inventory of three nodes in two facilities',
      PAYLOAD_TYPE.inventory,
      p.inventory,
      labRoot.signer,
      labRoot.vkey,
    ),
  );
  add(
    'ok-pause-open',
    okVector(
      'an open-ended pause over the whole fleet; 1e21 is written 1e+21 by JCS',
      PAYLOAD_TYPE.pause,
      p.pauseOpen,
      labRoot.signer,
      labRoot.vkey,
    ),
  );
  add(
    'ok-pause-scoped',
    okVector(
      'a pause with an end, scoped to two facility/cluster pairs',
      PAYLOAD_TYPE.pause,
      p.pauseClosed,
      labRoot.signer,
      labRoot.vkey,
    ),
  );
  add(
    'ok-usage-seq0',
    okVector(
      'the first usage report of a node chain: seq 0, prev 64 zeros',
      U,
      p.usage0,
      node.signer,
      node.vkey,
    ),
  );
  add(
    'ok-usage-seq1',
    okVector(
      'the second usage report of the chain: prev is the payloadHash of ok-usage-seq0 (the example of SPEC.md)',
      U,
      p.usage1,
      node.signer,
      node.vkey,
    ),
  );
  add(
    'ok-meter',
    okVector(
      'a meter reading; 2.1e8 and 9.87e12 are written as integers by JCS',
      PAYLOAD_TYPE.meter,
      p.meter,
      meter.signer,
      meter.vkey,
    ),
  );
  {
    const pretty = JSON.stringify(usageEnv, null, 2);
    add('ok-envelope-not-canonical-accepted', {
      ...okVector(
        'a submission may serialise the envelope in any way (here indented, keys in another order); parseEntry returns the canonical entry',
        U,
        p.usage1,
        node.signer,
        node.vkey,
      ),
      entry: pretty,
    });
  }
  {
    const other = signEnvelope(U, usageJcs, otherLab.signer).signatures[0]!;
    const env = { ...usageEnv, signatures: [other, ...usageEnv.signatures] };
    const entry = jcs(env);
    add('ok-extra-signature-ignored', {
      ...okVector(
        'a second signature by another key is ignored when checking the node key',
        U,
        p.usage1,
        node.signer,
        node.vkey,
      ),
      entry,
      envelope: env,
      canonicalEntry: entry,
      leafHash: leafHash(utf8(entry)),
    });
  }

  // --- entry size and encoding ---------------------------------------------------------------
  add('entry-empty', bad('a zero-length entry', { entry: '' }, node.vkey, 'ENTRY_EMPTY'));
  {
    const pad = MAX_ENTRY_BYTES + 1 - utf8(usageEntry).length;
    add(
      'entry-too-large',
      bad(
        `a valid envelope followed by ${pad} spaces: 65,536 bytes, one over the limit`,
        { entry: usageEntry + ' '.repeat(pad) },
        node.vkey,
        'ENTRY_TOO_LARGE',
      ),
    );
  }
  const asHex = (s: string) => toHex(utf8(s));
  add(
    'entry-not-utf8-invalid-byte',
    bad(
      'a 0xff byte inside the payloadType string',
      {
        entryHex: asHex(usageEntry).replace(
          asHex('usage+json'),
          `${asHex('usage')}ff${asHex('json')}`,
        ),
      },
      node.vkey,
      'ENTRY_NOT_UTF8',
    ),
  );
  add(
    'entry-not-utf8-overlong',
    bad(
      'an overlong two-byte encoding of "/" (0xc0 0xaf) inside the payloadType string',
      {
        entryHex: asHex(usageEntry).replace(
          asHex('vnd.vpause'),
          `${asHex('vnd')}c0af${asHex('vpause')}`,
        ),
      },
      node.vkey,
      'ENTRY_NOT_UTF8',
    ),
  );
  add(
    'entry-not-utf8-surrogate',
    bad(
      'a UTF-8-encoded surrogate (0xed 0xa0 0x80, CESU-8) inside the payloadType string',
      {
        entryHex: asHex(usageEntry).replace(
          asHex('vnd.vpause'),
          `${asHex('vnd')}eda080${asHex('vpause')}`,
        ),
      },
      node.vkey,
      'ENTRY_NOT_UTF8',
    ),
  );

  // --- JSON -----------------------------------------------------------------------------------
  add(
    'entry-json-bom',
    bad(
      'a UTF-8 byte-order mark before the JSON text',
      { entry: `\ufeff${usageEntry}` },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-json-trailing-data',
    bad(
      'a second JSON value after the envelope',
      { entry: `${usageEntry}{}` },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-json-truncated',
    bad(
      'the envelope cut short',
      { entry: usageEntry.slice(0, -1) },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-json-trailing-comma',
    bad(
      'a trailing comma in the signatures array',
      { entry: usageEntry.replace(/\]\}$/, ',]}') },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-json-duplicate-key',
    bad(
      'the envelope names "payloadType" twice; parsers disagree on which wins, so it is refused',
      {
        entry: usageEntry.replace(
          '"payloadType":',
          '"payloadType":"application/vnd.vpause.meter+json","payloadType":',
        ),
      },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-json-duplicate-key-escaped',
    bad(
      'a duplicate key spelled with an escape ("\\u0070ayload" is "payload")',
      { entry: usageEntry.replace('{"payload":', '{"\\u0070ayload":"","payload":') },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-json-raw-control-character',
    bad(
      'a raw tab inside a string (JSON requires it escaped)',
      { entry: usageEntry.replace('"keyid":"', '"keyid":"\t') },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-json-number-overflow',
    bad(
      'a number that overflows a double (1e400)',
      { entry: usageEntry.replace('{"payload":', '{"x":1e400,"payload":') },
      node.vkey,
      'ENTRY_MALFORMED_JSON',
    ),
  );
  add(
    'entry-too-deep',
    bad(
      'nine nested arrays inside the envelope (the limit is 8 levels, the envelope itself being 1)',
      {
        entry: usageEntry.replace(
          '{"payload":',
          `{"x":${'['.repeat(8)}${']'.repeat(8)},"payload":`,
        ),
      },
      node.vkey,
      'ENTRY_TOO_DEEP',
    ),
  );

  // --- envelope --------------------------------------------------------------------------------
  add(
    'envelope-not-object',
    bad(
      'a JSON array instead of an envelope',
      { entry: `[${usageEntry}]` },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );
  add(
    'envelope-unknown-key',
    bad(
      'an envelope with a key DSSE does not define',
      { entry: jcs({ ...usageEnv, extra: 'x' }) },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );
  add(
    'envelope-missing-signatures',
    bad(
      'an envelope without a signatures member',
      { entry: jcs({ payload: usageEnv.payload, payloadType: U }) },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );
  add(
    'envelope-payload-not-string',
    bad(
      'the payload is a JSON object, not base64 text',
      { entry: jcs({ ...usageEnv, payload: p.usage1 }) },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );
  add(
    'envelope-keyid-without-key-id',
    bad(
      'a keyid that is only a key name (vpause keyids are name+hexid)',
      {
        entry: jcs({
          ...usageEnv,
          signatures: [{ ...usageEnv.signatures[0]!, keyid: node.signer.name }],
        }),
      },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );
  add(
    'envelope-duplicate-keyid',
    bad(
      'two signatures with the same keyid',
      {
        entry: jcs({ ...usageEnv, signatures: [usageEnv.signatures[0]!, usageEnv.signatures[0]!] }),
      },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );
  add(
    'envelope-sig-not-base64',
    bad(
      'a signature that is not base64',
      {
        entry: jcs({
          ...usageEnv,
          signatures: [{ ...usageEnv.signatures[0]!, sig: 'not base64!' }],
        }),
      },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );
  add(
    'envelope-too-many-signatures',
    bad(
      '17 signatures (at most 16)',
      {
        entry: jcs({
          ...usageEnv,
          signatures: Array.from({ length: 17 }, (_, i) => ({
            keyid: `k${i}.example+00000000`,
            sig: usageEnv.signatures[0]!.sig,
          })),
        }),
      },
      node.vkey,
      'ENVELOPE_INVALID',
    ),
  );

  // --- canonical entry -------------------------------------------------------------------------
  add(
    'entry-not-canonical-indented',
    bad(
      'an indented envelope, read back from a log with requireCanonical',
      { entry: JSON.stringify(usageEnv, null, 1) },
      node.vkey,
      'ENTRY_NOT_CANONICAL',
      { requireCanonical: true },
    ),
  );
  add(
    'entry-not-canonical-key-order',
    bad(
      'envelope keys not in JCS order, with requireCanonical',
      {
        entry: JSON.stringify({
          payloadType: usageEnv.payloadType,
          payload: usageEnv.payload,
          signatures: usageEnv.signatures,
        }),
      },
      node.vkey,
      'ENTRY_NOT_CANONICAL',
      { requireCanonical: true },
    ),
  );
  add(
    'entry-not-canonical-escape',
    bad(
      'an escaped solidus ("\\/") in the signature, with requireCanonical',
      {
        entry: usageEntry.replace(
          `"sig":"${usageEnv.signatures[0]!.sig}"`,
          `"sig":"${usageEnv.signatures[0]!.sig.replaceAll('/', '\\/')}"`,
        ),
      },
      node.vkey,
      'ENTRY_NOT_CANONICAL',
      { requireCanonical: true },
    ),
  );

  // --- signatures present ------------------------------------------------------------------------
  add(
    'signature-missing',
    bad(
      'an envelope with an empty signatures array',
      { entry: jcs({ ...usageEnv, signatures: [] }) },
      node.vkey,
      'SIGNATURE_MISSING',
    ),
  );

  // --- payload type ----------------------------------------------------------------------------
  add(
    'payload-type-unknown',
    bad(
      'a correctly signed statement of a payloadType vpause does not define',
      { entry: signedEntry('application/vnd.vpause.usage+json; v=2', usageJcs, node.signer) },
      node.vkey,
      'PAYLOAD_TYPE_UNKNOWN',
    ),
  );
  add(
    'payload-type-case',
    bad(
      'payloadType compared exactly: an upper-case variant is unknown',
      { entry: signedEntry('application/vnd.vpause.USAGE+json', usageJcs, node.signer) },
      node.vkey,
      'PAYLOAD_TYPE_UNKNOWN',
    ),
  );

  // --- payload encoding --------------------------------------------------------------------------
  {
    // the first of these statements whose payload base64 ends in padding
    const padded = [p.usage0, p.usage1, { ...p.usage1, seq: 2 }, { ...p.usage1, seq: 3 }]
      .map((x) => signEnvelope(U, utf8(jcs(x)), node.signer))
      .find((e) => e.payload.endsWith('='));
    if (padded === undefined) throw new Error('no padded payload among the candidates');
    add(
      'payload-base64-unpadded',
      bad(
        'a usage payload whose base64 needs padding, with the padding removed',
        { entry: withPayloadField(padded, padded.payload.replace(/=+$/, '')) },
        node.vkey,
        'PAYLOAD_NOT_BASE64',
      ),
    );
  }
  add(
    'payload-base64-length',
    bad(
      'the payload base64 with its last character removed (length not a multiple of 4)',
      { entry: withPayloadField(usageEnv, usageEnv.payload.slice(0, -1)) },
      node.vkey,
      'PAYLOAD_NOT_BASE64',
    ),
  );
  {
    const urlsafe = usageEnv.payload.replaceAll('+', '-').replaceAll('/', '_');
    const hasUrl = urlsafe !== usageEnv.payload;
    const payload = hasUrl ? urlsafe : `-${usageEnv.payload.slice(1)}`;
    add(
      'payload-base64-urlsafe',
      bad(
        'the payload in the URL-safe alphabet (DSSE uses standard base64)',
        { entry: withPayloadField(usageEnv, payload) },
        node.vkey,
        'PAYLOAD_NOT_BASE64',
      ),
    );
  }
  add(
    'payload-base64-noncanonical-bits',
    bad(
      'payload "eyJ2IjoxfQ==" with its last data character changed so that unused bits are set ("eyJ2IjoxfR==")',
      { entry: withPayloadField(usageEnv, 'eyJ2IjoxfR==') },
      node.vkey,
      'PAYLOAD_NOT_BASE64',
    ),
  );
  add(
    'payload-base64-whitespace',
    bad(
      'a line break inside the payload base64',
      {
        entry: withPayloadField(
          usageEnv,
          `${usageEnv.payload.slice(0, 76)}\n${usageEnv.payload.slice(76)}`,
        ),
      },
      node.vkey,
      'PAYLOAD_NOT_BASE64',
    ),
  );

  // --- payload JSON -----------------------------------------------------------------------------
  add(
    'payload-not-utf8',
    bad(
      'payload bytes that are not UTF-8 (a 0xff byte), correctly signed',
      {
        entry: signedEntry(U, Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d), node.signer),
      },
      node.vkey,
      'PAYLOAD_MALFORMED',
    ),
  );
  add(
    'payload-not-json',
    bad(
      'payload text that is not JSON, correctly signed',
      { entry: signedEntry(U, utf8('v=1 lab=lab-a.example'), node.signer) },
      node.vkey,
      'PAYLOAD_MALFORMED',
    ),
  );
  add(
    'payload-empty',
    bad(
      'an empty payload, correctly signed',
      { entry: signedEntry(U, new Uint8Array(0), node.signer) },
      node.vkey,
      'PAYLOAD_MALFORMED',
    ),
  );
  add(
    'payload-too-deep',
    bad(
      'a payload nesting nine levels deep, correctly signed',
      { entry: signedEntry(U, utf8(`{"a":${'['.repeat(8)}${']'.repeat(8)}}`), node.signer) },
      node.vkey,
      'ENTRY_TOO_DEEP',
    ),
  );

  // --- payload canonical -------------------------------------------------------------------------
  const usageText = jcs(p.usage1);
  const nc = (name: string, comment: string, payloadText: string) =>
    add(
      name,
      bad(
        `${comment}, correctly signed`,
        { entry: signedEntry(U, utf8(payloadText), node.signer) },
        node.vkey,
        'PAYLOAD_NOT_CANONICAL',
      ),
    );
  nc(
    'payload-not-canonical-key-order',
    'payload keys in declaration order instead of JCS order',
    JSON.stringify(p.usage1),
  );
  nc(
    'payload-not-canonical-whitespace',
    'an indented payload',
    JSON.stringify(JSON.parse(usageText), null, 1),
  );
  nc(
    'payload-not-canonical-duplicate-key',
    'a payload naming "workload" twice ("training" then "inference")',
    usageText.replace('"workload":"inference"', '"workload":"training","workload":"inference"'),
  );
  nc(
    'payload-not-canonical-number',
    'a number written 0.1250 (JCS writes 0.125)',
    usageText.replace('"tensorActive":0.125', '"tensorActive":0.1250'),
  );
  nc(
    'payload-not-canonical-exponent',
    'a number written 3.2e17 (JCS writes 320000000000000000)',
    usageText.replace('"flop":320000000000000000', '"flop":3.2e17'),
  );
  nc(
    'payload-not-canonical-escape',
    'a string with an unnecessary escape ("\\u0066" for "f")',
    usageText.replace('"facility":"f1"', '"facility":"\\u00661"'),
  );
  nc(
    'payload-not-canonical-lone-surrogate',
    'a string holding a lone surrogate escape, which has no JCS encoding',
    usageText.replace('"node":"c1-n001"', '"node":"\\ud800"'),
  );
  nc(
    'payload-not-canonical-negative-zero',
    'a number written -0 (JCS writes 0)',
    usageText.replace('"seq":1', '"seq":-0'),
  );

  // --- payload schema -----------------------------------------------------------------------------
  const sc = (
    name: string,
    comment: string,
    payload: unknown,
    signer = node.signer,
    vkey = node.vkey,
  ) =>
    add(
      name,
      bad(
        `${comment}, canonical and correctly signed`,
        { entry: signedEntry(U, utf8(jcs(payload)), signer) },
        vkey,
        'PAYLOAD_SCHEMA',
      ),
    );
  sc('payload-schema-array', 'a payload that is a JSON array', [p.usage1]);
  sc('payload-schema-version', 'a usage payload with "v":2', { ...p.usage1, v: 2 });
  {
    const { samples: _omitted, ...noSamples } = p.usage1;
    sc('payload-schema-missing-key', 'a usage payload without "samples"', noSamples);
  }
  sc('payload-schema-unknown-key', 'a usage payload with an extra key', {
    ...p.usage1,
    note: 'hi',
  });
  sc('payload-schema-calendar', 'a usage payload starting on 2026-02-30', {
    ...p.usage1,
    start: '2026-02-30T00:00:00Z',
    end: '2026-03-02T00:00:00Z',
  });
  sc('payload-schema-fractional-seconds', 'a time with fractional seconds', {
    ...p.usage1,
    end: '2026-11-27T01:35:00.000Z',
  });
  sc('payload-schema-offset', 'a time with a +00:00 offset instead of Z', {
    ...p.usage1,
    end: '2026-11-27T01:35:00+00:00',
  });
  sc('payload-schema-end-not-after-start', 'a usage interval whose end equals its start', {
    ...p.usage1,
    end: p.usage1.start,
  });
  sc('payload-schema-gpu-seconds', 'gpuSeconds above gpus × (end − start) (8 × 300 = 2400)', {
    ...p.usage1,
    gpuSeconds: 2400.5,
  });
  sc('payload-schema-negative', 'a negative energyJ', { ...p.usage1, energyJ: -1 });
  sc('payload-schema-seq-fraction', 'a non-integer seq', { ...p.usage1, seq: 1.5 });
  sc('payload-schema-hash-uppercase', 'a prev hash in upper-case hex', {
    ...p.usage1,
    prev: p.usage1.prev.toUpperCase(),
  });
  sc('payload-schema-workload', 'a workload outside the enumeration', {
    ...p.usage1,
    workload: 'gaming',
  });
  sc('payload-schema-lab-uppercase', 'a lab name with upper-case letters', {
    ...p.usage1,
    lab: 'Lab-A.example',
  });
  sc('payload-schema-id-dotdot', 'a node id of ".."', { ...p.usage1, node: '..' });
  sc('payload-schema-type-mismatch', 'a meter payload under the usage payloadType', p.meter);
  {
    const reg = { ...p.registration, key: cosigner.vkey };
    add(
      'payload-schema-registration-cosigner-key',
      bad(
        'a registration of a type 0x04 (cosignature) vkey: node keys must be Ed25519 0x01, canonical and correctly signed',
        { entry: signedEntry(PAYLOAD_TYPE.registration, utf8(jcs(reg)), labRoot.signer) },
        labRoot.vkey,
        'PAYLOAD_SCHEMA',
      ),
    );
    const badId = { ...p.registration, key: node.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+') };
    add(
      'payload-schema-registration-key-id',
      bad(
        'a registration of a vkey whose key ID does not match its name and key, canonical and correctly signed',
        { entry: signedEntry(PAYLOAD_TYPE.registration, utf8(jcs(badId)), labRoot.signer) },
        labRoot.vkey,
        'PAYLOAD_SCHEMA',
      ),
    );
  }

  // --- signature checks ---------------------------------------------------------------------------
  add(
    'key-unsupported-cosignature-type',
    bad(
      'a valid statement checked with a type 0x04 (cosignature) vkey: statement keys are Ed25519 0x01',
      { entry: usageEntry },
      cosigner.vkey,
      'KEY_UNSUPPORTED',
    ),
  );
  add(
    'keyid-mismatch-other-key',
    bad(
      'a valid node statement checked against another lab root key',
      { entry: usageEntry },
      otherLab.vkey,
      'KEYID_MISMATCH',
    ),
  );
  add(
    'keyid-mismatch-same-name',
    bad(
      'a statement signed by a different key that has the lab root key name: its key ID differs',
      { entry: signedEntry(PAYLOAD_TYPE.pause, utf8(jcs(p.pauseOpen)), impostor.signer) },
      labRoot.vkey,
      'KEYID_MISMATCH',
    ),
  );
  {
    const forged = signEnvelope(U, usageJcs, impostor.signer).signatures[0]!.sig;
    add(
      'signature-invalid-wrong-key',
      bad(
        "the node key's keyid on a signature made by another key",
        { entry: jcs({ ...usageEnv, signatures: [{ keyid: node.keyid, sig: forged }] }) },
        node.vkey,
        'SIGNATURE_INVALID',
      ),
    );
  }
  add(
    'signature-invalid-payload-swapped',
    bad(
      'the signature of ok-usage-seq1 on the payload of ok-usage-seq0',
      { entry: withPayloadField(usageEnv, toBase64(utf8(jcs(p.usage0)))) },
      node.vkey,
      'SIGNATURE_INVALID',
    ),
  );
  add(
    'signature-invalid-payload-type-swapped',
    bad(
      'a usage signature on the same payload under another payloadType (PAE binds the type)',
      {
        entry: jcs({ ...signEnvelope(PAYLOAD_TYPE.meter, usageJcs, node.signer), payloadType: U }),
      },
      node.vkey,
      'SIGNATURE_INVALID',
    ),
  );
  add(
    'signature-invalid-no-pae',
    bad(
      'an Ed25519 signature over the payload bytes themselves instead of PAE(payloadType, payload)',
      {
        entry: jcs({
          ...usageEnv,
          signatures: [
            { keyid: node.keyid, sig: toBase64(signEd25519(node.signer.seed, usageJcs)) },
          ],
        }),
      },
      node.vkey,
      'SIGNATURE_INVALID',
    ),
  );
  add(
    'signature-invalid-length',
    bad(
      'a 63-byte signature',
      {
        entry: jcs({
          ...usageEnv,
          signatures: [{ keyid: node.keyid, sig: toBase64(new Uint8Array(63).fill(1)) }],
        }),
      },
      node.vkey,
      'SIGNATURE_INVALID',
    ),
  );
  {
    // Add the group order L to S: the same signature in a non-canonical form (S >= L).
    const sig = Uint8Array.from(Buffer.from(usageEnv.signatures[0]!.sig, 'base64'));
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    s += 2n ** 252n + 27742317777372353535851937790883648493n;
    if (s < 2n ** 256n) {
      for (let i = 32; i < 64; i++) {
        sig[i] = Number(s & 0xffn);
        s >>= 8n;
      }
      add(
        'signature-invalid-s-not-canonical',
        bad(
          'the valid signature with S replaced by S + L (non-canonical scalar)',
          { entry: jcs({ ...usageEnv, signatures: [{ keyid: node.keyid, sig: toBase64(sig) }] }) },
          node.vkey,
          'SIGNATURE_INVALID',
        ),
      );
    }
  }
  return { keys, vectors: v };
}

function json(x: unknown): string {
  return `${JSON.stringify(x, null, 2)}\n`;
}

/** File name (relative to protocol/vectors/) → file content, in a fixed order. */
export function vectorFiles(): Map<string, string> {
  const { keys, vectors } = buildVectors();
  const out = new Map<string, string>();
  out.set(
    'keys.json',
    json({
      comment:
        'Keys of the statement vectors. Seeds are SHA-256("vpause test vector key <label>"), the label being "<name> <type>" except for the impostor key. privateKey is the Go x/mod note format PRIVATE+KEY+<name>+<hex id>+base64(type||seed); vkey is the C2SP verifier key. TEST KEYS: never use them for anything else.',
      keys: Object.values(keys).map((k) => ({
        role: k.role,
        comment: k.comment,
        type: k.type,
        ...(k.privateKey === '' ? {} : { privateKey: k.privateKey }),
        vkey: k.vkey,
        ...(k.keyid === '' ? {} : { keyid: k.keyid }),
      })),
    }),
  );
  const index: string[] = [];
  for (const [name, vec] of vectors) {
    out.set(`statements/${name}.json`, json(vec));
    index.push(
      `| [${name}](statements/${name}.json) | \`${vec.expect}\` | ${vec.comment.replaceAll('|', '\\|')} |`,
    );
  }
  out.set(
    'README.md',
    [
      '# vpause statement test vectors',
      '',
      'Generated by `npm run gen:vectors` (protocol/scripts/gen-vectors.ts) from fixed seeds; do not',
      'edit by hand. The rules they exercise are in [../SPEC.md](../SPEC.md).',
      '',
      'Each `statements/*.json` file is one vector:',
      '',
      '- `comment`: what the vector shows;',
      '- `entry` (a string, encoded as UTF-8) or `entryHex` (when the bytes are not UTF-8): the input;',
      '- `options`: parseEntry options (`requireCanonical`), when not the defaults;',
      '- `verifierKey`: the vkey to check the statement signature with;',
      '- `expect`: `ok`, or the error code that decoding or signature checking must produce',
      '  (the first failing step, in the order of SPEC.md).',
      '',
      '`ok` vectors also give `payloadType`, the decoded `payload`, `payloadJcs` (the signed payload',
      'bytes), `payloadHash` (the `prev` of the next statement in its chain), `chainKey`, `envelope`,',
      '`canonicalEntry` (what the log stores) and `leafHash` (SHA-256(0x00 || canonicalEntry)).',
      '',
      '`keys.json` holds the test keys (private keys included: test use only).',
      '',
      '| vector | expect | comment |',
      '| --- | --- | --- |',
      ...index,
      '',
    ].join('\n'),
  );
  return out;
}
