// Worker-thread entry of the simulator's Monte Carlo pool (src/sim/runner.ts). The sources are
// TypeScript, run through tsx as the CLI runs them; the work itself is in worker-thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread.ts');
