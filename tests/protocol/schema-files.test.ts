import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaFiles } from '../../protocol/scripts/schema-files.js';
import { readFileSet } from '../../protocol/scripts/write-files.js';

const DIR = join(import.meta.dirname, '..', '..', 'protocol', 'schemas');

describe('protocol/schemas (JSON Schema generated from the zod schemas)', () => {
  it('matches what gen-schemas would write now (run `npm run gen:schemas` after changing a schema)', () => {
    const generated = schemaFiles();
    const committed = readFileSet(DIR);
    expect([...committed.keys()].sort()).toEqual([...generated.keys()].sort());
    for (const [name, content] of generated) expect(committed.get(name), name).toBe(content);
  });

  it('is deterministic: two generations are byte-identical and end with a newline', () => {
    const a = schemaFiles();
    const b = schemaFiles();
    for (const [name, content] of a) {
      expect(b.get(name)).toBe(content);
      expect(content.endsWith('}\n')).toBe(true);
    }
  });

  it('states the fixed keys, the version and strictness of the usage payload', () => {
    const usage = JSON.parse(schemaFiles().get('usage.schema.json')!);
    expect(usage.additionalProperties).toBe(false);
    expect(usage.properties.v.const).toBe(1);
    expect([...usage.required].sort()).toEqual(
      [
        'v',
        'lab',
        'facility',
        'cluster',
        'node',
        'seq',
        'prev',
        'start',
        'end',
        'gpus',
        'gpuSeconds',
        'energyJ',
        'tensorActive',
        'flop',
        'workload',
        'bodyHash',
        'samples',
      ].sort(),
    );
  });
});
