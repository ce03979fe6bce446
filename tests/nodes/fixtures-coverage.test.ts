import { describe, expect, it } from 'vitest';
import { FILES, listFixtureFiles } from './fixtures.js';

describe('the telemetry fixture folder', () => {
  it('holds exactly the files the collector tests parse (a new capture needs a test)', () => {
    expect(listFixtureFiles()).toEqual(Object.values(FILES).sort());
  });
});
