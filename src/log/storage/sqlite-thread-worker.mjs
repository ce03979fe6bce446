// Worker-thread entry of the threaded SQLite driver (src/log/storage/sqlite-thread.ts). The
// sources are TypeScript, run through tsx as the CLI runs them; the work is in sqlite-thread-host.ts.
import { register } from 'tsx/esm/api';

register();
await import('./sqlite-thread-host.ts');
