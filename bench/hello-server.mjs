// Hello world on the same server stack as the log (hono on @hono/node-server), for the baseline.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/hello', (c) => c.json({ hello: 'world' }));
const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`hello listening on http://127.0.0.1:${info.port}\n`);
});
process.on('SIGTERM', () => s.close(() => process.exit(0)));
