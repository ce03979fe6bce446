/**
 * Reading scenario files: YAML (or JSON) → the zod schema of protocol/src/scenario.ts → each
 * strategy's own parameter schema. Every error is one line naming the file and the key path.
 * Also the sweep machinery: `--param <path>=<from>:<to>:<steps>` values and setting a value at a
 * path of a scenario.
 */
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { jcs } from '../../protocol/src/jcs.js';
import { type Scenario, scenarioSchema } from '../../protocol/src/scenario.js';
import { toHex } from '../core/bytes.js';
import { sha256 } from '../crypto/sha256.js';
import { SimError } from './errors.js';
import { type Group, HONEST } from './model.js';
import { STRATEGIES } from './strategies/index.js';

/** A scenario with each strategy's parameters checked and defaults applied. */
export interface LoadedScenario {
  scenario: Scenario;
  /** Strategy entries in scenario order (the honest group is implicit). */
  groups: (Group & { params: unknown })[];
}

function pathText(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0]!;
  const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : '';
  return `${pathText(i.path)}: ${i.message}${more}`;
}

/**
 * Validates a parsed scenario object and its strategies' parameters.
 * @throws {SimError} SCENARIO_INVALID (one line: file, key path, problem),
 *   SCENARIO_UNKNOWN_STRATEGY
 */
export function checkScenario(value: unknown, file = 'scenario'): LoadedScenario {
  const r = scenarioSchema.safeParse(value);
  if (!r.success) throw new SimError('SCENARIO_INVALID', `${file}: ${firstIssue(r.error)}`);
  const scenario = r.data;
  const groups: LoadedScenario['groups'] = [];
  scenario.strategies.forEach((entry, i) => {
    const s = STRATEGIES.get(entry.strategy);
    if (s === undefined) {
      throw new SimError(
        'SCENARIO_UNKNOWN_STRATEGY',
        `${file}: strategies.${i}.strategy: unknown strategy ${JSON.stringify(entry.strategy)} (one of ${[...STRATEGIES.keys()].join(', ')})`,
      );
    }
    const p = s.params.safeParse(entry.params);
    if (!p.success) {
      const issue = p.error.issues[0]!;
      throw new SimError(
        'SCENARIO_INVALID',
        `${file}: strategies.${i}.params.${pathText(issue.path)}: ${issue.message} (strategy ${entry.strategy})`,
      );
    }
    const id = entry.id ?? entry.strategy;
    if (id === HONEST && entry.strategy !== 'honest') {
      throw new SimError(
        'SCENARIO_INVALID',
        `${file}: strategies.${i}.id: "${HONEST}" is reserved`,
      );
    }
    groups.push({
      id,
      strategy: entry.strategy,
      labs: [...entry.labs],
      logLevel: s.logLevel === true,
      expectation: s.expectation(p.data),
      params: p.data,
    });
  });
  return { scenario, groups };
}

/**
 * Reads scenario text (YAML 1.2; JSON is YAML too) into a plain object, unchecked.
 * @throws {SimError} SCENARIO_SYNTAX for text that is not YAML
 */
export function readScenarioObject(text: string, file = 'scenario'): unknown {
  try {
    return parseYaml(text, { prettyErrors: false, uniqueKeys: true }) as unknown;
  } catch (e) {
    throw new SimError(
      'SCENARIO_SYNTAX',
      `${file}: not YAML: ${(e as Error).message.split('\n')[0]}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Parses and validates scenario text.
 * @throws {SimError} SCENARIO_SYNTAX for text that is not YAML; as {@link checkScenario}
 */
export function parseScenario(text: string, file = 'scenario'): LoadedScenario {
  return checkScenario(readScenarioObject(text, file), file);
}

/**
 * A short hash of a scenario's canonical form, `runs` left out (what an output directory's runs
 * belong to: resuming with more runs is allowed).
 */
export function scenarioHash(s: Scenario): string {
  return toHex(sha256(new TextEncoder().encode(jcs({ ...s, runs: 0 } as never)))).slice(0, 16);
}

// ---------------------------------------------------------------------------------------------
// Sweeps

/** One swept parameter: a path in the scenario and the values it takes. */
export interface SweepParam {
  path: string;
  values: number[];
}

/**
 * Parses `<path>=<from>:<to>:<steps>` (steps ≥ 1 values, evenly spaced, both ends included) or
 * `<path>=<v1>,<v2>,…`.
 * @throws {SimError} SWEEP_INVALID
 */
export function parseSweepParam(text: string): SweepParam {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new SimError('SWEEP_INVALID', `--param ${text}: expected <path>=<from>:<to>:<steps>`);
  const path = text.slice(0, eq);
  const spec = text.slice(eq + 1);
  const num = (s: string) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isFinite(v)) {
      throw new SimError('SWEEP_INVALID', `--param ${text}: ${JSON.stringify(s)} is not a number`);
    }
    return v;
  };
  if (spec.includes(':')) {
    const parts = spec.split(':');
    if (parts.length !== 3)
      throw new SimError('SWEEP_INVALID', `--param ${text}: expected <from>:<to>:<steps>`);
    const [a, b, n] = [num(parts[0]!), num(parts[1]!), num(parts[2]!)];
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      throw new SimError('SWEEP_INVALID', `--param ${text}: steps must be an integer in 1..1000`);
    }
    const values = n === 1 ? [a] : Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
    return { path, values: values.map((v) => Number(v.toPrecision(12))) };
  }
  return { path, values: spec.split(',').map(num) };
}

/** The path's segments: dots separate them; `[i]` is accepted for an index. */
function segments(path: string): string[] {
  return path
    .replace(/\[(\w[\w.-]*)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '');
}

/**
 * A copy of the raw scenario object with `value` at `path`. A segment indexes an array by
 * position (`labs.0`) or by the `id` (or, for strategies, `strategy`) of an element
 * (`strategies.hidden.params.nodes`); the last segment may create a key in an object.
 * @throws {SimError} SWEEP_INVALID when the path leads nowhere
 */
export function setPath<T>(obj: T, path: string, value: unknown): T {
  const copy = structuredClone(obj) as unknown;
  const segs = segments(path);
  if (segs.length === 0) throw new SimError('SWEEP_INVALID', `--param: empty path`);
  let cur: unknown = copy;
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    let key: string | number = seg;
    if (Array.isArray(cur)) {
      const arr = cur as unknown[];
      const byIndex = /^\d+$/.test(seg) ? Number(seg) : -1;
      const idx =
        byIndex >= 0
          ? byIndex
          : arr.findIndex(
              (x) =>
                typeof x === 'object' &&
                x !== null &&
                ((x as { id?: unknown }).id === seg ||
                  ((x as { id?: unknown }).id === undefined &&
                    (x as { strategy?: unknown }).strategy === seg)),
            );
      if (idx < 0 || idx >= arr.length) {
        throw new SimError('SWEEP_INVALID', `--param ${path}: no element ${JSON.stringify(seg)}`);
      }
      key = idx;
    } else if (typeof cur !== 'object' || cur === null) {
      throw new SimError(
        'SWEEP_INVALID',
        `--param ${path}: ${segs.slice(0, i).join('.')} is not an object`,
      );
    }
    const holder = cur as Record<string | number, unknown>;
    if (last) {
      holder[key] = value;
      return;
    }
    if (holder[key] === undefined) holder[key] = {};
    cur = holder[key];
  });
  return copy as T;
}

/** Every combination of the swept values, first parameter slowest. */
export function sweepPoints(params: readonly SweepParam[]): number[][] {
  let out: number[][] = [[]];
  for (const p of params) out = out.flatMap((c) => p.values.map((v) => [...c, v]));
  return out;
}
