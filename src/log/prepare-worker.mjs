// Worker-thread entry of the log's preparation pool (src/log/prepare-pool.ts). The sources are
// TypeScript, run through tsx as the CLI runs them; the work itself is in prepare-thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./prepare-thread.ts');
