/**
 * Interop with Sunlight's witness test data (../shared/vectors/sunlight-skylight-testdata): our
 * cosignature code verifies Sunlight's cosignatures, and our witness, given Sunlight's test
 * witness key and clock, answers add-checkpoint with the very cosignature line Sunlight
 * published, and serves it at the same monitoring path.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  generateKey,
  KEY_TYPE_COSIGNATURE,
  parseVerifierKey,
  type SignerKey,
} from '../../src/note/keys.js';
import { openNote, parseNote } from '../../src/note/note.js';
import { parseCheckpoint, signCheckpoint } from '../../src/tlog/checkpoint.js';
import { verifiedCosignatures } from '../../src/tlog/cosignature.js';
import { silentLogger } from '../../src/util/logger.js';
import { formatAddCheckpointRequest, originHash } from '../../src/witness/protocol.js';
import { type RunningWitness, startWitness } from '../../src/witness/server.js';
import { testKey } from '../helpers/world.js';
import { addCheckpoint } from './helpers.js';

const VECTORS = new URL('../../../shared/vectors/sunlight-skylight-testdata/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, VECTORS), 'utf8');
const H = '000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706';
const H2 = '88ad7a28caeb0b2aa890fdf0304c2fcaf59fca2ee140134ff8c1300bac493482';
const SUNLIGHT_TIME = 1767139200;

interface Cosigner {
  name: string;
  phrase: string;
  vkey: string;
  file: string;
}
const COSIGNERS: Cosigner[] = [
  {
    name: 'witness.example.org',
    phrase: 'skylight test witness key',
    vkey: 'witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN',
    file: `witness/${H}/checkpoint`,
  },
  {
    name: 'witness2.example.org',
    phrase: 'skylight test witness2 key',
    vkey: 'witness2.example.org+2e55b896+BIZ7fpceQWd60IfqQeS9IAnmNOCZjMDne8lZuguz/bi9',
    file: `witness2/${H2}/checkpoint`,
  },
  {
    name: 'mirror.example.org',
    phrase: 'skylight test mirror key',
    vkey: 'mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O',
    file: `witness/mirror/${H}/checkpoint`,
  },
];

function sunlightSigner(c: Cosigner): SignerKey {
  const seed = sha256(utf8(c.phrase));
  return generateKey(c.name, KEY_TYPE_COSIGNATURE, () => seed).signer;
}

function lineOf(note: string, name: string): string {
  return `${note.split('\n').find((l) => l.startsWith(`\u2014 ${name} `))!}\n`;
}

describe('Sunlight cosignature vectors, read by our cosignature code', () => {
  describe.each(COSIGNERS)('when the cosigner is $name', (c) => {
    it('finds exactly one verified cosignature, time 1767139200, ignoring other lines', () => {
      const note = read(c.file);
      const key = parseVerifierKey(c.vkey);
      const opened = openNote(note, [key]);
      expect(verifiedCosignatures(opened, opened.text, [key])).toEqual([
        { key, time: SUNLIGHT_TIME },
      ]);
    });

    it('finds none when the checkpoint size is altered', () => {
      const note = read(c.file).replace('\n300\n', '\n299\n');
      const key = parseVerifierKey(c.vkey);
      expect(() => openNote(note, [key])).toThrow(
        expect.objectContaining({ code: 'NOTE_BAD_SIGNATURE' }),
      );
    });
  });
});

describe.each([
  { cosigner: COSIGNERS[0]!, hash: H },
  { cosigner: COSIGNERS[1]!, hash: H2 },
])('our witness with the Sunlight key of $cosigner.name', ({ cosigner, hash }) => {
  const vector = read(cosigner.file);
  const body = parseNote(vector).text;
  const origin = parseCheckpoint(body).origin;
  // Our own log key under the Sunlight log's origin: the witness needs a log signature it can
  // verify, and the cosignature covers only the checkpoint body and the time.
  const logKey = testKey(origin);
  let w: RunningWitness;

  beforeAll(async () => {
    w = await startWitness({
      memory: true,
      host: '127.0.0.1',
      port: 0,
      key: sunlightSigner(cosigner),
      logs: [logKey.vkey],
      now: () => SUNLIGHT_TIME * 1000,
      logger: silentLogger(),
    });
  });
  afterAll(() => w.close());

  it('has the published vkey', () => {
    expect(w.vkey).toBe(cosigner.vkey);
  });

  it('answers add-checkpoint with the exact cosignature line Sunlight published', async () => {
    const cp = parseCheckpoint(body);
    const note = signCheckpoint(cp, logKey.signer);
    expect(parseNote(note).text).toBe(body);
    const r = await addCheckpoint(w.url, formatAddCheckpointRequest(0, [], note));
    expect(r.status).toBe(200);
    expect(r.text).toBe(lineOf(vector, cosigner.name));
  });

  it('serves it at the monitoring path Sunlight uses, and it verifies with our code', async () => {
    expect(originHash(origin)).toBe(hash);
    const r = await fetch(`${w.url}/${hash}/checkpoint`);
    const served = await r.text();
    expect(parseNote(served).text).toBe(body);
    expect(served.endsWith(lineOf(vector, cosigner.name))).toBe(true);
    const key = parseVerifierKey(cosigner.vkey);
    const opened = openNote(served, [parseVerifierKey(logKey.vkey), key]);
    expect(verifiedCosignatures(opened, opened.text, [key])).toEqual([
      { key, time: SUNLIGHT_TIME },
    ]);
  });
});
