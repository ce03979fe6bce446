/**
 * httpGet (src/client/http-get.ts) against a real server on 127.0.0.1: bodies read whole, into a
 * buffer of its own or one the caller's `alloc` gives, and the errors it reports.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet } from '../../src/client/http-get.js';

const body = randomBytes(300_000);
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/body') {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (req.url === '/chunked') {
      res.writeHead(200);
      res.write(body.subarray(0, 1000));
      res.end(body.subarray(1000));
    } else if (req.url === '/short') {
      // announces more than it sends, then closes once the client has the head and part of it
      res.writeHead(200, { 'content-length': 100 });
      res.write(body.subarray(0, 50));
      setTimeout(() => res.socket?.destroy(), 50);
    } else {
      res.writeHead(404, { 'content-length': 0 });
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('httpGet', () => {
  it('reads a body into a buffer of its own', async () => {
    const g = await httpGet(`${base}/body`);
    expect(g.status).toBe(200);
    expect(Buffer.from(g.body).equals(body)).toBe(true);
  });

  it('reads an announced body into the start of the buffer alloc gives', async () => {
    const lent = new Uint8Array(400_000).fill(7);
    const asked: number[] = [];
    const g = await httpGet(`${base}/body`, {
      alloc: (n) => {
        asked.push(n);
        return lent;
      },
    });
    expect(asked).toEqual([body.length]);
    expect(g.body.buffer).toBe(lent.buffer);
    expect(g.body.byteOffset).toBe(0);
    expect(Buffer.from(g.body).equals(body)).toBe(true);
    expect(lent[body.length]).toBe(7); // nothing written past the body
  });

  it('does not ask alloc for a body of unannounced length', async () => {
    let asked = false;
    const g = await httpGet(`${base}/chunked`, {
      alloc: (n) => {
        asked = true;
        return new Uint8Array(n);
      },
    });
    expect(asked).toBe(false);
    expect(Buffer.from(g.body).equals(body)).toBe(true);
  });

  it('fails when alloc gives too little, or throws, or the body is cut short', async () => {
    await expect(httpGet(`${base}/body`, { alloc: () => new Uint8Array(10) })).rejects.toThrow(
      /alloc gave 10 bytes for 300000/,
    );
    await expect(
      httpGet(`${base}/body`, {
        alloc: () => {
          throw new RangeError('no memory for that');
        },
      }),
    ).rejects.toThrow(/no memory for that/);
    await expect(httpGet(`${base}/short`)).rejects.toThrow(/response aborted/);
    await expect(httpGet(`${base}/short`, { alloc: (n) => new Uint8Array(n) })).rejects.toThrow(
      /response aborted/,
    );
    // and the client still works afterwards
    expect((await httpGet(`${base}/missing`)).status).toBe(404);
  });

  describe('a kept-alive connection the server closes as a request goes out', () => {
    /**
     * A plain TCP server speaking just enough HTTP/1.1: on each connection it answers the
     * requests its script gives, in order ('ok': 200 with a body, kept alive; 'drop': closes the
     * connection unanswered, as a server whose idle timeout fired does).
     */
    async function scriptedServer(script: ('ok' | 'drop')[][]) {
      let connections = 0;
      const open = new Set<net.Socket>();
      const s = net.createServer((sock) => {
        open.add(sock);
        sock.on('close', () => open.delete(sock));
        const plan = script[connections++] ?? ['ok'];
        let buf = '';
        let n = 0;
        sock.on('data', (d) => {
          buf += d.toString('latin1');
          for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
            buf = buf.slice(end + 4);
            if ((plan[n++] ?? 'ok') === 'drop') {
              sock.destroy();
              return;
            }
            sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
          }
        });
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return {
        url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/x`,
        connections: () => connections,
        close: () => {
          // the client keeps its last connection alive: close it from this side
          for (const sock of open) sock.destroy();
          return new Promise((r) => s.close(r));
        },
      };
    }

    it('sends the GET again once, on a new connection', async () => {
      const srv = await scriptedServer([['ok', 'drop'], ['ok']]);
      try {
        expect(Buffer.from((await httpGet(srv.url)).body).toString()).toBe('ok');
        // reuses the first connection, which the server drops: answered on a second one
        expect(Buffer.from((await httpGet(srv.url)).body).toString()).toBe('ok');
        expect(srv.connections()).toBe(2);
      } finally {
        await srv.close();
      }
    });

    it('does not retry a request that fails on a new connection', async () => {
      const srv = await scriptedServer([['drop'], ['ok']]);
      try {
        await expect(httpGet(srv.url)).rejects.toThrow(/socket hang up|ECONNRESET/);
        expect(srv.connections()).toBe(1);
      } finally {
        await srv.close();
      }
    });

    it('retries once only', async () => {
      const srv = await scriptedServer([['ok', 'drop'], ['drop'], ['ok']]);
      try {
        await httpGet(srv.url);
        await expect(httpGet(srv.url)).rejects.toThrow(/socket hang up|ECONNRESET/);
        expect(srv.connections()).toBe(2);
      } finally {
        await srv.close();
      }
    });
  });
});
