import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioJsonSchema, scenarioSchema } from '../../protocol/src/scenario.js';
import { isVPauseError } from '../../src/core/errors.js';
import {
  checkScenario,
  parseScenario,
  parseSweepParam,
  setPath,
  sweepPoints,
} from '../../src/sim/scenario.js';
import { STRATEGIES } from '../../src/sim/strategies/index.js';
import { smallScenarioObject } from './helpers.js';

function codeAndMessage(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isVPauseError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('did not throw');
}

describe('scenario files', () => {
  const dir = join(process.cwd(), 'examples/scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('every example scenario parses, and every strategy has an example', () => {
    const used = new Set<string>();
    for (const f of files) {
      const l = parseScenario(readFileSync(join(dir, f), 'utf8'), f);
      for (const g of l.groups) used.add(g.strategy);
    }
    expect(files).toContain('reference.yaml');
    expect(files).toContain('honest.yaml');
    for (const name of STRATEGIES.keys()) if (name !== 'honest') expect(used).toContain(name);
  });

  it('applies the defaults of the schema (mode full, seed 1, 600 s intervals)', () => {
    const l = checkScenario({ name: 'x', labs: smallScenarioObject().labs });
    expect(l.scenario.mode).toBe('full');
    expect(l.scenario.seed).toBe(1);
    expect(l.scenario.reporting.intervalSeconds).toBe(600);
    expect(l.groups).toEqual([]);
  });
});

describe('when a scenario is invalid', () => {
  it('names the file and key path in one line (SCENARIO_INVALID)', () => {
    const bad = smallScenarioObject();
    (bad.labs as { facilities: { pue: number[] }[] }[])[0]!.facilities[0]!.pue = [1.4, 1.1];
    const r = codeAndMessage(() => checkScenario(bad, 'world.yaml'));
    expect(r.code).toBe('SCENARIO_INVALID');
    expect(r.message).toBe('world.yaml: labs.0.facilities.0.pue: pue max is below pue min');
    expect(r.message).not.toContain('\n');
  });

  it('refuses an unknown key with its path', () => {
    const r = codeAndMessage(() =>
      checkScenario({ ...smallScenarioObject(), colour: 'red' }, 's.yaml'),
    );
    expect(r.code).toBe('SCENARIO_INVALID');
    expect(r.message).toMatch(/^s\.yaml: \(root\): .*colour/);
  });

  it('refuses a start not aligned to the reporting interval', () => {
    const r = codeAndMessage(() =>
      checkScenario({ ...smallScenarioObject(), start: '2026-11-27T00:01:00Z' }, 's.yaml'),
    );
    expect(r.message).toMatch(/^s\.yaml: start: start must be a multiple of intervalSeconds/);
  });

  it('refuses an unknown strategy, listing the known ones (SCENARIO_UNKNOWN_STRATEGY)', () => {
    const r = codeAndMessage(() =>
      checkScenario(smallScenarioObject({ strategy: { strategy: 'teleport' } }), 's.yaml'),
    );
    expect(r.code).toBe('SCENARIO_UNKNOWN_STRATEGY');
    expect(r.message).toMatch(
      /^s\.yaml: strategies\.0\.strategy: unknown strategy "teleport" \(one of honest, /,
    );
  });

  it("checks a strategy's own parameters with their path", () => {
    const r = codeAndMessage(() =>
      checkScenario(
        smallScenarioObject({ strategy: { strategy: 'under-report', params: { factor: 2 } } }),
        's.yaml',
      ),
    );
    expect(r.code).toBe('SCENARIO_INVALID');
    expect(r.message).toMatch(
      /^s\.yaml: strategies\.0\.params\.factor: .*\(strategy under-report\)$/,
    );
  });

  it('refuses a lab following two strategies', () => {
    const o = smallScenarioObject();
    o.strategies = [
      { strategy: 'stolen-key', labs: ['lab-x.example'] },
      { strategy: 'under-report', labs: ['lab-x.example'] },
    ];
    expect(codeAndMessage(() => checkScenario(o, 's.yaml')).message).toMatch(
      /follows two strategies/,
    );
  });

  it('reports text that is not YAML as SCENARIO_SYNTAX, in one line', () => {
    const r = codeAndMessage(() => parseScenario('name: [unclosed\n  labs: {', 'x.yaml'));
    expect(r.code).toBe('SCENARIO_SYNTAX');
    expect(r.message).not.toContain('\n');
  });
});

describe('the scenario JSON Schema', () => {
  it('is generated from the zod schema with every top-level key and the strategy entry', () => {
    const j = scenarioJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(j.properties)).toEqual(Object.keys(scenarioSchema.shape));
    expect(j.required).toEqual(['name', 'labs']);
    expect(JSON.stringify(j)).toContain('"strategy"');
  });
});

describe('sweeps', () => {
  it('parses from:to:steps into evenly spaced values, ends included', () => {
    expect(parseSweepParam('strategies.x.params.factor=0:1:5')).toEqual({
      path: 'strategies.x.params.factor',
      values: [0, 0.25, 0.5, 0.75, 1],
    });
    expect(parseSweepParam('seed=3,5').values).toEqual([3, 5]);
  });

  it('refuses a malformed --param with SWEEP_INVALID', () => {
    expect(codeAndMessage(() => parseSweepParam('x=1:2')).code).toBe('SWEEP_INVALID');
    expect(codeAndMessage(() => parseSweepParam('novalue')).code).toBe('SWEEP_INVALID');
    expect(codeAndMessage(() => parseSweepParam('x=1:2:0')).code).toBe('SWEEP_INVALID');
  });

  it('sets a value by index or by id without touching the original', () => {
    const o = smallScenarioObject({
      strategy: { strategy: 'under-report', params: { factor: 0.5 } },
    });
    const a = setPath(o, 'strategies.under-report.params.factor', 0.9) as typeof o;
    const b = setPath(o, 'labs.0.facilities.0.baselineW', 123) as typeof o;
    expect((a.strategies as { params: { factor: number } }[])[0]!.params.factor).toBe(0.9);
    expect((o.strategies as { params: { factor: number } }[])[0]!.params.factor).toBe(0.5);
    expect(JSON.stringify(b)).toContain('"baselineW":123');
    expect(codeAndMessage(() => setPath(o, 'strategies.nope.params.x', 1)).code).toBe(
      'SWEEP_INVALID',
    );
  });

  it('makes the cartesian product, first parameter slowest', () => {
    expect(
      sweepPoints([
        { path: 'a', values: [1, 2] },
        { path: 'b', values: [3, 4] },
      ]),
    ).toEqual([
      [1, 3],
      [1, 4],
      [2, 3],
      [2, 4],
    ]);
  });
});
