import { paymentWebhookEventSchema } from '@amanat/core';
import { jsonSchema } from '../http/openapi.ts';
import { MAX_BODY_BYTES } from '../http/route.ts';
import { PAYMENT_CALLBACK_PATH, paymentCallbackAnswerSchema } from './callback.ts';
import { WEBHOOK_TOLERANCE_SEC } from './signature.ts';

const signing = `**Signing** ([Standard Webhooks](https://www.standardwebhooks.com)). The shared secret is the API's
\`PAYMENT_WEBHOOK_SECRET\`: \`whsec_\` followed by the base64 key. The signed content is
\`<webhook-id>.<webhook-timestamp>.<body>\`, with the body exactly as sent (UTF-8 JSON, not re-encoded, not
compressed); \`webhook-signature\` is \`v1,\` followed by the base64 HMAC-SHA256 of it under the key. Several
space-separated signatures may be sent (for rotating the secret); one matching is enough, compared in constant
time. \`webhook-timestamp\` is Unix seconds and must be within ${WEBHOOK_TOLERANCE_SEC / 60} minutes of the
server's clock, either way. Any Standard Webhooks library signs this way (for example the \`standardwebhooks\`
npm package: \`new Webhook(secret).sign(id, new Date(), body)\`).

**Ids and retries.** \`webhook-id\` names the event and stays the same on every retry of it (Amanat's scanner
uses \`<chainId>-<txHash>-<logIndex>-<detected|confirmed|reorged>-<16 hex of the block hash>\`). An id accepted
in the last 7 days is answered 202 with \`duplicate: true\` and nothing is enqueued again; identical facts under
different ids are enqueued once. Retry on 503 and on network errors, with backoff, until a 2xx; a 400 will not
change on retry.

**Refusals.** 401 with \`webhook_headers_missing\`, \`webhook_headers_invalid\`, \`webhook_timestamp_stale\` or
\`webhook_signature_invalid\`; 400 \`payment_event_invalid\` (the body is not a valid event; \`errors\` says
where) or \`payment_chain_inactive\`; 413 over ${MAX_BODY_BYTES / 1024} KB; 415 for a \`Content-Encoding\`.

Events are reports, not decisions: the API only enqueues them, and the payments worker re-reads the
transaction from the chain before anything is recorded. Not rate-limited per IP (the signature is the gate),
no session, no CORS: it is for servers only.`;

const headers = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description: 'The event id, the same on every retry of one event',
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$' },
  },
  {
    name: 'webhook-timestamp',
    in: 'header',
    required: true,
    description: `When this attempt was signed, in Unix seconds (within ${WEBHOOK_TOLERANCE_SEC / 60} minutes of now)`,
    schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
  },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description: 'Space-separated `v1,<base64 HMAC-SHA256>` signatures',
    schema: { type: 'string' },
  },
];

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The OpenAPI operation for one signed payment event, shared by the path and the `webhooks` entry. */
function operation(operationId: string, summary: string) {
  return {
    operationId,
    summary,
    description: signing,
    tags: ['payments'],
    parameters: headers,
    requestBody: {
      required: true,
      description: `A payment event as JSON, at most ${MAX_BODY_BYTES / 1024} KB, signed as described above`,
      content: { 'application/json': { schema: jsonSchema(paymentWebhookEventSchema, 'input') } },
    },
    responses: {
      202: {
        description: 'Accepted (enqueued now, or already before under this webhook-id)',
        content: { 'application/json': { schema: jsonSchema(paymentCallbackAnswerSchema, 'output') } },
      },
      400: problem('Signed, but not a valid payment event, or for a chain this server does not watch'),
      401: problem('Missing or malformed webhook headers, a stale or future timestamp, or a bad signature'),
      413: problem(`The body is larger than ${MAX_BODY_BYTES / 1024} KB`),
      415: problem('The body carries a Content-Encoding; send it uncompressed'),
      503: problem('Redis is unavailable; retry with backoff'),
    },
    security: [],
  };
}

/** The callback path and the OpenAPI 3.1 `webhooks` entry, for buildOpenApi's extras. */
export const paymentCallbackOpenApi = {
  paths: {
    [PAYMENT_CALLBACK_PATH]: {
      post: operation('receivePaymentEvent', 'Receive a signed payment event from a chain scanner'),
    },
  } as Record<string, unknown>,
  webhooks: {
    paymentEvent: {
      post: operation(
        'paymentEvent',
        `A payment event, as a scanner posts it to ${PAYMENT_CALLBACK_PATH} (payment.detected, payment.confirmed or payment.reorged)`,
      ),
    },
  } as Record<string, unknown>,
};
