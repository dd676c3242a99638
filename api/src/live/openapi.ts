import { clientMessageSchema, LIVE_CLOSE, LIVE_ERROR_CODES, serverMessageSchema } from '@amanat/core/api';
import { z } from 'zod';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });

const closeCodeTable = Object.values(LIVE_CLOSE)
  .map(({ code, reason }) => `| ${code} | \`${reason}\` |`)
  .join('\n');

const errorCodeList = Object.entries(LIVE_ERROR_CODES)
  .map(([code, text]) => `- \`${code}\`: ${text}`)
  .join('\n');

const description = `Live deal events over a WebSocket (JSON text frames; a client frame over 4 KB closes
the connection with 1009).

**Authentication.** Browsers cannot set headers on a WebSocket and tokens must stay out of URLs and logs, so
the client connects without credentials and sends \`{"type":"auth","token":"<session token>"}\` as its first
message, within 5 seconds. Nothing is delivered before that. The server answers \`{"type":"ready","userId":…}\`,
or closes with 4401 \`session_invalid\` when the token is wrong, and with 4408 \`auth_timeout\` when no auth
message came. Non-browser clients may instead send \`Authorization: Bearer <token>\` (or \`tma <init data>\`)
on the upgrade request: a bad one is refused with 401 before the upgrade, a good one is answered with \`ready\`
at once. A request whose \`Origin\` is not the app's is refused with 403.

**Events.** \`{"type":"deal.event","event":{…}}\` for every committed change of a deal the user is a party of
(the event's \`audience\`). Operators may send \`{"type":"subscribe","scope":"all"}\` to receive every deal's
events. Delivery is at least once (drop repeats by \`event.id\`); after a reconnect, or a \`resync\` message,
refetch what you show, since events sent while disconnected are not replayed.

**Sessions.** The session is re-checked every 60 seconds; a revoked or expired one closes the connection
with 4401 \`session_invalid\`.

**Keep-alive.** The server pings every 30 seconds and drops connections that did not answer the previous
ping. Clients that cannot answer WebSocket pings themselves may send \`{"type":"ping"}\`.

**Errors** (\`{"type":"error","code":…,"message":…}\`, the connection stays open):
${errorCodeList}

**Close codes**

| code | reason |
|---|---|
${closeCodeTable}

On shutdown each client first gets \`{"type":"reconnect","retryAfterMs":…}\`, then the 1012 close.`;

/** The /api/ws path item for the OpenAPI document: the upgrade, the messages both ways, the close codes. */
export const liveOpenApiPaths: Record<string, unknown> = {
  '/api/ws': {
    get: {
      operationId: 'liveUpdates',
      summary: 'Live deal events (WebSocket)',
      description,
      tags: ['live'],
      parameters: [
        { name: 'Upgrade', in: 'header', required: true, schema: { const: 'websocket' } },
        { name: 'Connection', in: 'header', required: true, schema: { type: 'string' } },
        {
          name: 'Authorization',
          in: 'header',
          required: false,
          schema: { type: 'string' },
          description: 'Optional, for non-browser clients: `Bearer <session token>` or `tma <init data>`',
        },
      ],
      responses: {
        101: {
          description: 'Switching protocols: the WebSocket is open',
          'x-client-messages': jsonSchema(clientMessageSchema, 'input'),
          'x-server-messages': jsonSchema(serverMessageSchema, 'output'),
          'x-close-codes': Object.fromEntries(
            Object.values(LIVE_CLOSE).map(({ code, reason }) => [code, reason]),
          ),
        },
        400: { description: 'Not a valid WebSocket upgrade request' },
        401: { description: 'The Authorization header on the upgrade request is invalid' },
        403: { description: 'The Origin is not the app' },
        503: { description: 'The server is shutting down or cannot check credentials: retry' },
      },
      security: [{}, { session: [] }, { telegramInitData: [] }],
    },
  },
};
