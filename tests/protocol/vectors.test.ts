import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vectorFiles } from '../../protocol/scripts/vector-files.js';
import { listFiles, readFileSet } from '../../protocol/scripts/write-files.js';
import { STATEMENT_ERROR_CODES } from '../../protocol/src/errors.js';
import {
  chainKey,
  type ParseEntryOptions,
  parseEntry,
  payloadHash,
  verifyStatementSignature,
} from '../../protocol/src/statements.js';
import { fromHex, fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { isVPauseError } from '../../src/core/errors.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { keyIdString, parsePrivateKey, parseVerifierKey } from '../../src/note/keys.js';

const DIR = join(import.meta.dirname, '..', '..', 'protocol', 'vectors');

interface Vector {
  comment: string;
  entry?: string;
  entryHex?: string;
  options?: ParseEntryOptions;
  verifierKey: string;
  expect: string;
  payloadType?: string;
  payload?: unknown;
  payloadJcs?: string;
  payloadHash?: string;
  chainKey?: string | null;
  envelope?: unknown;
  canonicalEntry?: string;
  leafHash?: string;
}

const names = listFiles(join(DIR, 'statements')).filter((n) => n.endsWith('.json'));
const vectors = names.map(
  (n) => [n, JSON.parse(readFileSync(join(DIR, 'statements', n), 'utf8')) as Vector] as const,
);

function run(v: Vector): { code: string; parsed?: ReturnType<typeof parseEntry> } {
  const bytes = v.entry !== undefined ? utf8(v.entry) : fromHex(v.entryHex!);
  let parsed: ReturnType<typeof parseEntry> | undefined;
  try {
    parsed = parseEntry(bytes, v.options);
    verifyStatementSignature(parsed, parseVerifierKey(v.verifierKey));
    return { code: 'ok', parsed };
  } catch (e) {
    if (!isVPauseError(e)) throw e;
    return { code: e.code, parsed };
  }
}

describe('protocol/vectors/statements', () => {
  it('holds vectors', () => {
    expect(vectors.length).toBeGreaterThan(50);
  });

  it.each(vectors)('%s gives its expected result', (_, v) => {
    expect(typeof v.comment).toBe('string');
    expect(run(v).code).toBe(v.expect);
  });

  it.each(vectors.filter(([, v]) => v.expect === 'ok'))(
    '%s decodes to its stated payload, canonical entry, leaf hash and payload hash',
    (_, v) => {
      const { parsed } = run(v);
      expect(parsed).toBeDefined();
      const p = parsed!;
      expect(p.payloadType).toBe(v.payloadType);
      expect(p.payload).toEqual(v.payload);
      expect(fromUtf8(p.payloadBytes)).toBe(v.payloadJcs);
      expect(fromUtf8(p.entry)).toBe(v.canonicalEntry);
      expect(p.envelope).toEqual(v.envelope);
      expect(toHex(sha256(Uint8Array.of(0), p.entry))).toBe(v.leafHash);
      expect(payloadHash(p.payloadBytes)).toBe(v.payloadHash);
      expect(chainKey(p.payloadType, p.payload)).toBe(v.chainKey);
    },
  );

  it('covers every statement error code with at least one vector', () => {
    const seen = new Set(vectors.map(([, v]) => v.expect));
    for (const code of STATEMENT_ERROR_CODES) expect(seen, code).toContain(code);
  });

  it('links ok-usage-seq1 to ok-usage-seq0 through prev', () => {
    const byName = new Map(vectors);
    const seq0 = byName.get('ok-usage-seq0.json')!;
    const seq1 = byName.get('ok-usage-seq1.json')!;
    expect((seq0.payload as { prev: string }).prev).toBe('0'.repeat(64));
    expect((seq1.payload as { prev: string }).prev).toBe(seq0.payloadHash);
  });
});

describe('protocol/vectors/keys.json', () => {
  const keys = JSON.parse(readFileSync(join(DIR, 'keys.json'), 'utf8')) as {
    keys: { privateKey?: string; vkey: string; keyid?: string; type: number }[];
  };
  it('pairs each private key with its vkey and keyid', () => {
    for (const k of keys.keys) {
      const vk = parseVerifierKey(k.vkey);
      expect(vk.type).toBe(k.type);
      if (k.privateKey !== undefined) {
        const sk = parsePrivateKey(k.privateKey);
        expect(toHex(sk.publicKey)).toBe(toHex(vk.publicKey));
        expect(keyIdString(sk)).toBe(k.keyid);
      }
    }
  });
});

describe('when the vector generator runs', () => {
  it('produces exactly the committed files (run `npm run gen:vectors` after changing it)', () => {
    const generated = vectorFiles();
    const committed = readFileSet(DIR);
    expect([...committed.keys()].sort()).toEqual([...generated.keys()].sort());
    for (const [name, content] of generated) expect(committed.get(name), name).toBe(content);
  });
});
