/**
 * File-set helpers for the generators and their staleness tests: list the files under a
 * directory, and replace them with a generated set (removing files the set no longer has).
 */
import { type Dirent, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** Relative paths (with `/`) of every regular file under `dir`, sorted; [] when it is missing. */
export function listFiles(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** Reads the files under `dir` as a map of relative path → UTF-8 content. */
export function readFileSet(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of listFiles(dir)) out.set(name, readFileSync(join(dir, name), 'utf8'));
  return out;
}

/** Replaces the files under `dir` with `files` (relative path → content). */
export function writeFileSet(dir: string, files: Map<string, string>): void {
  for (const name of listFiles(dir)) {
    if (!files.has(name)) rmSync(join(dir, name));
  }
  for (const [name, content] of files) {
    const full = join(dir, name);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}
