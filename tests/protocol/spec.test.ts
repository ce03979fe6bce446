import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STATEMENT_ERROR_CODES } from '../../protocol/src/errors.js';
import { utf8 } from '../../src/core/bytes.js';

const ROOT = join(import.meta.dirname, '..', '..', 'protocol');
const spec = readFileSync(join(ROOT, 'SPEC.md'), 'utf8');
const vector = JSON.parse(
  readFileSync(join(ROOT, 'vectors', 'statements', 'ok-usage-seq1.json'), 'utf8'),
) as Record<string, unknown> & { canonicalEntry: string; payloadJcs: string };

/** The fenced code blocks of the spec's Example section, in order. */
function exampleBlocks(): string[] {
  const section = spec.slice(spec.indexOf('## Example'), spec.indexOf('## Conventions'));
  return [...section.matchAll(/```(?:json)?\n([\s\S]*?)```/g)].map((m) => m[1]!.trimEnd());
}

describe('protocol/SPEC.md', () => {
  describe('its Example section', () => {
    const blocks = exampleBlocks();

    it('shows the payload and envelope of vector ok-usage-seq1', () => {
      expect(JSON.parse(blocks[0]!)).toEqual(vector.payload);
      expect(JSON.parse(blocks[3]!)).toEqual(vector.envelope);
    });

    it('gives its JCS payload, vkey, entry and leaf hash byte for byte', () => {
      expect(blocks[1]).toBe(vector.payloadJcs);
      expect(blocks[2]).toBe(vector.verifierKey);
      expect(blocks[4]).toBe(vector.canonicalEntry);
      expect(blocks[5]).toBe(vector.leafHash);
    });

    it('states the entry length and the payload hash that the next report will carry', () => {
      expect(spec).toContain(`${utf8(vector.canonicalEntry).length} bytes of UTF-8`);
      expect(spec).toContain(String(vector.payloadHash));
    });
  });

  it('names every statement error code', () => {
    for (const code of STATEMENT_ERROR_CODES) expect(spec, code).toContain(`\`${code}\``);
  });
});
