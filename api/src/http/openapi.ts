import { problemSchema } from '@amanat/core/api';
import { z } from 'zod';
import { MAX_BODY_BYTES, type RouteDef } from './route.ts';

/** A zod schema as JSON Schema 2020-12, the dialect of OpenAPI 3.1. */
export const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });

const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const ERROR_TEXT: Record<number, string> = {
  400: 'The request is malformed or fails validation',
  401: 'Not signed in, or the session or init data is invalid',
  403: 'Signed in, but this role may not do this',
  404: 'No such resource, or not yours to see',
  409: 'The deal is not in a state that allows this, or it changed meanwhile',
  413: 'The body is larger than 64 KB',
  415: 'The body is not application/json',
  422: 'Well-formed but not acceptable (for example an amount with too many decimals)',
  429: 'Rate limited; see Retry-After',
};

const problemResponse = (status: number) => ({
  description: ERROR_TEXT[status] ?? 'Error',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** Parameters from an object schema: each property becomes one documented parameter. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: prop,
  }));
}

export interface OpenApiExtras {
  title: string;
  version: string;
  description: string;
  /** Extra path items that are not JSON routes (the WebSocket, bull-board). */
  paths?: Record<string, unknown>;
  /** OpenAPI 3.1 `webhooks`: requests others send to us (the payment events scanners post). */
  webhooks?: Record<string, unknown>;
  schemas?: Record<string, z.ZodType>;
}

/** Builds the OpenAPI 3.1 document from the same route declarations that validate requests. */
export function buildOpenApi(routes: readonly RouteDef[], extras: OpenApiExtras): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const errors = new Set([400, 429, ...(route.errors ?? [])]);
    if (route.auth === 'user') errors.add(401);
    if (route.operatorOnly) errors.add(403);
    if (route.body) {
      errors.add(413);
      errors.add(415);
    }
    const success = route.status ?? 200;
    const responses: Record<string, unknown> = {
      [success]:
        success === 204
          ? { description: 'Done' }
          : {
              description: 'Success',
              content: { 'application/json': { schema: jsonSchema(route.response, 'output') } },
            },
    };
    for (const [status, other] of Object.entries(route.otherResponses ?? {})) {
      responses[status] = {
        description: other.description,
        content: { 'application/json': { schema: jsonSchema(other.schema, 'output') } },
      };
    }
    for (const status of [...errors].sort()) responses[status] = problemResponse(status);

    const parametersList = [...parameters(route.params, 'path'), ...parameters(route.query, 'query')];
    if (route.method === 'post' && route.auth === 'user') {
      parametersList.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', minLength: 1, maxLength: 255 },
        description:
          'Repeating a request with the same key (per user and route, kept 24 hours) returns the first answer ' +
          'with `Idempotent-Replayed: true`; the same key with a different body gets 422 `idempotency_key_reused`.',
      } as never);
    }
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parametersList.length > 0 ? { parameters: parametersList } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              description: `JSON, at most ${MAX_BODY_BYTES / 1024} KB`,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }
        : {}),
      responses,
      security:
        route.auth === 'user'
          ? [{ session: [] }, { telegramInitData: [] }]
          : route.auth === 'service'
            ? [{ serviceSecret: [] }]
            : [],
    };
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: extras.title, version: extras.version, description: extras.description },
    paths: { ...paths, ...extras.paths },
    ...(extras.webhooks ? { webhooks: extras.webhooks } : {}),
    components: {
      schemas: {
        Problem: jsonSchema(problemSchema, 'output'),
        ...Object.fromEntries(
          Object.entries(extras.schemas ?? {}).map(([name, schema]) => [name, jsonSchema(schema, 'output')]),
        ),
      },
      securitySchemes: {
        session: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A session token from POST /api/auth/telegram or the login link; revoke it with POST /api/auth/logout.',
        },
        telegramInitData: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: "The Mini App's raw init data: `Authorization: tma <initData>`.",
        },
        serviceSecret: {
          type: 'http',
          scheme: 'bearer',
          description: 'ASSIST_SERVICE_SECRET, for the assist service only.',
        },
      },
    },
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A self-contained reference page rendered from the document: no scripts and nothing loaded from
 * elsewhere, so it works offline and under the strictest CSP.
 */
export function renderDocsPage(doc: Record<string, unknown>): string {
  const info = doc.info as { title: string; version: string; description: string };
  type PathItems = Record<string, Record<string, Record<string, unknown>>>;
  const webhooks = Object.entries((doc.webhooks ?? {}) as PathItems).map(
    ([name, item]) => [`webhook: ${name}`, item] as const,
  );
  const sections = [...Object.entries(doc.paths as PathItems), ...webhooks]
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => {
        const responses = Object.entries((op.responses ?? {}) as Record<string, { description: string }>)
          .map(([status, r]) => `<li><code>${escapeHtml(status)}</code> ${escapeHtml(r.description)}</li>`)
          .join('');
        const body = (op.requestBody as { content?: Record<string, { schema: unknown }> } | undefined)
          ?.content?.['application/json']?.schema;
        const params = (op.parameters ?? []) as Array<{
          name: string;
          in: string;
          required?: boolean;
          description?: string;
        }>;
        return `<section id="${escapeHtml(String(op.operationId ?? path))}">
<h3><span class="m">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>
<p><strong>${escapeHtml(String(op.summary ?? ''))}</strong></p>
${op.description ? `<p>${escapeHtml(String(op.description))}</p>` : ''}
${params.length ? `<p>Parameters:</p><ul>${params.map((p) => `<li><code>${escapeHtml(p.name)}</code> (${escapeHtml(p.in)}${p.required ? ', required' : ''})${p.description ? ` ${escapeHtml(p.description)}` : ''}</li>`).join('')}</ul>` : ''}
${body ? `<details><summary>Request body</summary><pre>${escapeHtml(JSON.stringify(body, null, 2))}</pre></details>` : ''}
<ul>${responses}</ul>
</section>`;
      }),
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
section{border-top:1px solid #dde;padding:.5rem 0}.m{display:inline-block;min-width:4.5rem;font-weight:700}
pre{background:#f4f5f8;padding:.75rem;overflow:auto;font-size:13px}code{font-size:14px}</style></head>
<body><h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1>
<p>${escapeHtml(info.description).replaceAll('\n', '<br>')}</p>
<p>The machine-readable document: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
${sections}
</body></html>`;
}
