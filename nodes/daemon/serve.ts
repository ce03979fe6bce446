/** Runs a hono app on a node:http server (the daemons' HTTP listeners). */
import { serve } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (port 0: any free port).
 * @throws {Error} when the address cannot be bound
 */
export async function listen(app: OpenAPIHono, host: string, port: number): Promise<Listening> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  return {
    url,
    port: bound,
    close: () =>
      new Promise<void>((r) => {
        if ('closeAllConnections' in server) {
          (server as { closeAllConnections(): void }).closeAllConnections();
        }
        server.close(() => r());
      }),
  };
}
