/**
 * The verifier service's HTTP surface (OpenAPI at /openapi.json, like every vpause service):
 *
 *   GET  /v1/labs                              labs of the policy and the pauses they declared
 *   GET  /v1/labs/{lab}/pauses/{id}/verdict    the verdict over the pause's default window
 *   GET  /v1/labs/{lab}/pauses/{id}/verdict/signed   the same, signed with the verifier key
 *   POST /v1/verify                            an ad hoc question {lab, pause, from?, to?}
 *   POST /v1/verify/signed                     the same, answered signed
 *   GET  /v1/verifier-key                      the verifier key that signs verdicts (vkey)
 *   GET  /v1/alerts?since=&limit=              findings as they appeared
 *   GET  /healthz, /metrics, /openapi.json
 *
 * Errors are RFC 9457 problem+json (src/http/problem.ts). The app factory is exported so that
 * other surfaces (a dashboard) can be mounted on the same app.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { TIME_PATTERN } from '../../protocol/src/time.js';
import { findingSchema, signedVerdictSchema, verdictSchema } from '../../protocol/src/verdict.js';
import { isVPauseError } from '../core/errors.js';
import { type Problem, problem, problemFromError, sendProblem } from '../http/problem.js';
import { VerifierError } from './errors.js';
import type { VerifierCore } from './service.js';

const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string().optional(),
  })
  .openapi('Problem');
const problemResponse = {
  content: { 'application/problem+json': { schema: ProblemSchema } },
  description: 'RFC 9457 problem',
};
const Verdict = verdictSchema;
const Time = z.string().regex(new RegExp(TIME_PATTERN));

const PauseSummary = z.object({
  id: z.string(),
  start: z.string(),
  end: z.string().nullable(),
  index: z.number().int(),
  leafHash: z.string(),
});
const LabsResponse = z
  .object({
    labs: z.array(z.object({ lab: z.string(), pauses: z.array(PauseSummary) })),
    status: z.object({
      size: z.number().int(),
      checkpoint: z.object({ size: z.number().int(), quorum: z.boolean() }).nullable(),
      lastSync: z.string().nullable(),
      lastError: z.string().nullable(),
      forks: z.number().int(),
    }),
  })
  .openapi('Labs');
const Alert = z
  .object({
    id: z.number().int(),
    time: z.string(),
    lab: z.string(),
    pause: z.string(),
    finding: findingSchema,
  })
  .openapi('Alert');
const Question = z
  .object({
    lab: z.string().min(1),
    pause: z.string().min(1),
    from: Time.optional(),
    to: Time.optional(),
  })
  .openapi('Question');

const labsRoute = createRoute({
  method: 'get',
  path: '/v1/labs',
  responses: {
    200: {
      content: { 'application/json': { schema: LabsResponse } },
      description: 'Labs and pauses',
    },
  },
});
const verdictRoute = createRoute({
  method: 'get',
  path: '/v1/labs/{lab}/pauses/{id}/verdict',
  request: {
    params: z.object({
      lab: z.string().openapi({ param: { name: 'lab', in: 'path' }, example: 'lab-a.example' }),
      id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'pause-1' }),
    }),
  },
  responses: {
    200: { content: { 'application/json': { schema: Verdict } }, description: 'The verdict' },
    404: problemResponse,
  },
});
const SignedVerdict = signedVerdictSchema;
const signedVerdictRoute = createRoute({
  method: 'get',
  path: '/v1/labs/{lab}/pauses/{id}/verdict/signed',
  request: { params: verdictRoute.request.params },
  responses: {
    200: {
      content: { 'application/json': { schema: SignedVerdict } },
      description: 'The verdict as a DSSE envelope signed by the verifier key',
    },
    404: problemResponse,
  },
});
const verifierKeyRoute = createRoute({
  method: 'get',
  path: '/v1/verifier-key',
  responses: {
    200: {
      content: { 'application/json': { schema: z.object({ vkey: z.string() }) } },
      description: "The verifier key (C2SP vkey) that signs this service's verdicts",
    },
    404: problemResponse,
  },
});
const verifyRoute = createRoute({
  method: 'post',
  path: '/v1/verify',
  request: { body: { content: { 'application/json': { schema: Question } }, required: true } },
  responses: {
    200: { content: { 'application/json': { schema: Verdict } }, description: 'The verdict' },
    400: problemResponse,
    404: problemResponse,
  },
});
const verifySignedRoute = createRoute({
  method: 'post',
  path: '/v1/verify/signed',
  request: verifyRoute.request,
  responses: {
    200: {
      content: { 'application/json': { schema: SignedVerdict } },
      description: 'The verdict as a DSSE envelope signed by the verifier key',
    },
    400: problemResponse,
    404: problemResponse,
  },
});
const alertsRoute = createRoute({
  method: 'get',
  path: '/v1/alerts',
  request: {
    query: z.object({
      since: z
        .string()
        .regex(/^(0|[1-9][0-9]{0,15})$/)
        .optional()
        .openapi({ param: { name: 'since', in: 'query' }, example: '0' }),
      limit: z
        .string()
        .regex(/^[1-9][0-9]{0,4}$/)
        .optional()
        .openapi({ param: { name: 'limit', in: 'query' }, example: '100' }),
    }),
  },
  responses: {
    200: {
      content: {
        'application/json': {
          schema: z.object({ alerts: z.array(Alert), last: z.number().int() }),
        },
      },
      description: 'Alerts after `since`, oldest first',
    },
  },
});

function errorProblem(e: unknown): Problem {
  if (isVPauseError(e, 'PAUSE_NOT_FOUND'))
    return { ...problem(e.code, e.message), status: 404, title: 'Not Found' };
  return problemFromError(e);
}

function questionOf(q: z.infer<typeof Question>): {
  lab: string;
  pause: string;
  from?: string;
  to?: string;
} {
  const question: { lab: string; pause: string; from?: string; to?: string } = {
    lab: q.lab,
    pause: q.pause,
  };
  if (q.from !== undefined) question.from = q.from;
  if (q.to !== undefined) question.to = q.to;
  return question;
}

/** The verifier's HTTP app around a {@link VerifierCore}. */
export function createVerifierApp(core: VerifierCore): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) {
        return sendProblem(
          c,
          problem('QUESTION_INVALID', result.error.issues[0]?.message ?? 'invalid request'),
        );
      }
    },
  });
  app.onError((e, c) => sendProblem(c, errorProblem(e)));
  app.notFound((c) =>
    sendProblem(c, problem('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)),
  );

  app.openapi(labsRoute, (c) => c.json({ labs: core.labs(), status: core.status() }, 200));
  app.openapi(verdictRoute, (c) => {
    const { lab, id } = c.req.valid('param');
    return c.json(core.verdict(lab, id), 200);
  });
  app.openapi(signedVerdictRoute, (c) => {
    const { lab, id } = c.req.valid('param');
    return c.json(core.signed(core.verdict(lab, id)), 200);
  });
  app.openapi(verifierKeyRoute, (c) => {
    const vkey = core.verifierKey();
    if (vkey === undefined) {
      throw new VerifierError('VERIFIER_KEY_MISSING', 'this verifier signs no verdicts');
    }
    return c.json({ vkey }, 200);
  });
  app.openapi(verifyRoute, (c) =>
    c.json(core.evaluate(questionOf(c.req.valid('json'))).verdict, 200),
  );
  app.openapi(verifySignedRoute, (c) =>
    c.json(core.signed(core.evaluate(questionOf(c.req.valid('json'))).verdict), 200),
  );
  app.openapi(alertsRoute, (c) => {
    const { since, limit } = c.req.valid('query');
    const alerts = core.alerts(Number(since ?? 0), Number(limit ?? 1000));
    return c.json({ alerts, last: alerts.at(-1)?.id ?? Number(since ?? 0) }, 200);
  });
  app.get('/healthz', (c) => {
    const s = core.status();
    return c.json(
      { ok: s.lastError === null && s.lastSync !== null, ...s },
      s.lastSync === null ? 503 : 200,
    );
  });
  app.get('/metrics', async (c) =>
    c.body(await core.metrics.registry.metrics(), 200 as ContentfulStatusCode, {
      'content-type': core.metrics.registry.contentType,
    }),
  );
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'vpause verifier',
      version: '1',
      description: 'Verdicts on declared AI-compute pauses, from a witnessed log (DESIGN §6)',
    },
  });
  return app;
}
