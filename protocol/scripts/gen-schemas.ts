/**
 * Regenerates protocol/schemas/*.schema.json from the zod schemas.
 * Usage: npm run gen:schemas
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaFiles } from './schema-files.js';
import { writeFileSet } from './write-files.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
const files = schemaFiles();
writeFileSet(dir, files);
console.log(`wrote ${files.size} schema files to ${dir}`);
