/**
 * httpGet (src/client/http-get.ts) against a real server on 127.0.0.1: bodies read whole, into a
 * buffer of its own or one the caller's `alloc` gives, and the errors it reports.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
});
