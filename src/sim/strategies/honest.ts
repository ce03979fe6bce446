/** Honest operation: the lab does what it declared and reports it as its telemetry measured it. */
import { z } from 'zod';
import { defineStrategy } from './types.js';

export default defineStrategy({
  name: 'honest',
  summary: 'The lab runs what its schedule says and reports every interval on time, as measured.',
  params: z.strictObject({}),
  expectation: () =>
    'never flagged except by false alarms of the physics check: at most the policy alpha per verdict',
});
