/**
 * Regenerates protocol/vectors/ (keys.json, statements/*.json, README.md) from fixed seeds.
 * Usage: npm run gen:vectors
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vectorFiles } from './vector-files.js';
import { writeFileSet } from './write-files.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');
const files = vectorFiles();
writeFileSet(dir, files);
console.log(`wrote ${files.size} vector files to ${dir}`);
