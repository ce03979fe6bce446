/**
 * The schema constants the packer (./packed.ts) applies, from protocol/src/schemas.ts. Kept apart
 * from the packer so that threads which do not load the schemas (the verifier's ingestion
 * workers) receive them as data, and threads which do (the log's preparation workers) build them
 * here.
 */
import {
  ID_PATTERN,
  KEYID_PATTERN,
  LAB_PATTERN,
  PAYLOAD_TYPE,
  WORKLOADS,
} from '../../protocol/src/schemas.js';
import { MAX_ENTRY_BYTES } from '../../protocol/src/statements.js';
import type { PackRules } from './packed.js';

/** The schema constants the packer applies. */
export function packRules(): PackRules {
  return {
    usageType: PAYLOAD_TYPE.usage,
    meterType: PAYLOAD_TYPE.meter,
    registrationType: PAYLOAD_TYPE.registration,
    idPattern: ID_PATTERN,
    labPattern: LAB_PATTERN,
    keyidPattern: KEYID_PATTERN,
    workloads: WORKLOADS,
    maxEntryBytes: MAX_ENTRY_BYTES,
  };
}
