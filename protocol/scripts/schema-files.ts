/**
 * The JSON Schema files generated from the zod schemas (protocol/src/schemas.ts).
 * Pure: returns file names and contents; gen-schemas.ts writes them, and a test compares them
 * with the committed files.
 */
import { z } from 'zod';
import { scenarioSchema } from '../src/scenario.js';
import {
  envelopeSchema,
  inventorySchema,
  meterSchema,
  pauseSchema,
  registrationSchema,
  usageSchema,
} from '../src/schemas.js';
import { evidenceBundleSchema, signedVerdictSchema, verdictSchema } from '../src/verdict.js';

const SCHEMAS: Record<string, z.ZodType> = {
  envelope: envelopeSchema,
  registration: registrationSchema,
  inventory: inventorySchema,
  pause: pauseSchema,
  usage: usageSchema,
  meter: meterSchema,
  verdict: verdictSchema,
  'signed-verdict': signedVerdictSchema,
  'evidence-bundle': evidenceBundleSchema,
  scenario: scenarioSchema,
};

/** File name (relative to protocol/schemas/) → file content, in a fixed order. */
export function schemaFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
    out.set(`${name}.schema.json`, `${JSON.stringify(json, null, 2)}\n`);
  }
  return out;
}
