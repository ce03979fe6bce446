/**
 * The HTTP surface of a signing daemon (hono): `POST /v1/audit` (attestation nodes with an audit
 * configuration), `/healthz`, `/metrics` (Prometheus) and `/openapi.json`.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PROBLEM_CONTENT_TYPE, problem } from '../../src/http/problem.js';
import {
  AUDIT_CHALLENGE_TYPE,
  AUDIT_MAX_CHALLENGE_BYTES,
  auditResponseSchema,
} from './audit/protocol.js';
import { AUDIT_401, type AuditOutcome, type AuditResponder } from './audit/responder.js';

export interface DaemonAppOptions {
  /** Title of the OpenAPI document. */
  title: string;
  description: string;
  /** Answers audit challenges; without it there is no audit route. */
  audit?: AuditResponder;
  /** Called with every audit outcome (logs, metrics). */
  onAudit?: (o: AuditOutcome) => void;
  /** Health: `ok` false answers 503. */
  health: () => { ok: boolean; body: Record<string, unknown> };
  metrics: () => Promise<string>;
  metricsContentType: string;
}

const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
  })
  .openapi('Problem');

function problemBody(status: number, body: object): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
  });
}

/** Builds the daemon's hono app. */
export function createDaemonApp(opts: DaemonAppOptions): OpenAPIHono {
  const app = new OpenAPIHono();
  app.onError(() => problemBody(500, problem('INTERNAL', 'internal error')));
  app.notFound((c) =>
    problemBody(404, problem('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)),
  );
  const reg = app.openAPIRegistry;

  if (opts.audit !== undefined) {
    const audit = opts.audit;
    reg.registerPath({
      method: 'post',
      path: '/v1/audit',
      summary: `Answer a signed audit challenge (DSSE envelope, payloadType ${AUDIT_CHALLENGE_TYPE})`,
      request: {
        body: {
          content: { 'application/json': { schema: z.object({}).passthrough() } },
          required: true,
        },
      },
      responses: {
        200: {
          content: { 'application/json': { schema: auditResponseSchema } },
          description: 'the requested bodies and samples with inclusion proofs',
        },
        401: {
          content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
          description: 'not a readable signed challenge (one body for every reason)',
        },
        403: {
          content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
          description: 'untrusted key, outside the validity window, replayed or for another node',
        },
      },
    });
    const tooLarge: AuditOutcome = { status: 401, body: AUDIT_401, reason: 'too-large' };
    const answer = (c: Context, outcome: AuditOutcome) => {
      opts.onAudit?.(outcome);
      if (outcome.status === 200) return c.json(outcome.body, 200);
      const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
      if (outcome.status === 401) {
        headers['www-authenticate'] = `DSSE payloadType="${AUDIT_CHALLENGE_TYPE}"`;
      }
      return c.body(JSON.stringify(outcome.body), outcome.status as ContentfulStatusCode, headers);
    };
    app.post(
      '/v1/audit',
      // Stops reading a body beyond the limit, declared or not (a too-large request is unreadable).
      bodyLimit({ maxSize: AUDIT_MAX_CHALLENGE_BYTES, onError: (c) => answer(c, tooLarge) }),
      async (c) => answer(c, audit.respond(new Uint8Array(await c.req.arrayBuffer()))),
    );
  }

  for (const [path, summary] of [
    [
      '/healthz',
      'Liveness and outbox state (503 while reports cannot be stored, or on a conflict)',
    ],
    ['/metrics', 'Prometheus metrics'],
  ] as const) {
    reg.registerPath({ method: 'get', path, summary, responses: { 200: { description: 'ok' } } });
  }
  app.get('/healthz', (c) => {
    const h = opts.health();
    return c.json(h.body, h.ok ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.body(await opts.metrics(), 200, { 'content-type': opts.metricsContentType }),
  );
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: opts.title, version: '1', description: opts.description },
  });
  return app;
}
