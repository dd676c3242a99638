import { z } from 'zod';
import { dealEventSchema } from '../events.ts';

/**
 * The WebSocket protocol at /api/ws, in one place: the hub parses client frames with these schemas and
 * the OpenAPI document is generated from the same ones.
 */

/** Close codes the hub uses; 4xxx mirror the HTTP status they correspond to. */
export const LIVE_CLOSE = {
  /** The server restarts or shuts down: reconnect (to any instance) after `retryAfterMs`. */
  restart: { code: 1012, reason: 'reconnect' },
  /** A peer that violated the protocol (too many messages). */
  policy: { code: 1008, reason: 'rate_limited' },
  /** Authentication failed for a reason on our side (PostgreSQL or Redis unreachable): retry later. */
  internal: { code: 1011, reason: 'internal_error' },
  /** The token is unknown, expired or revoked (also when a session is revoked while connected). */
  sessionInvalid: { code: 4401, reason: 'session_invalid' },
  /** No auth message arrived in time after connecting. */
  authTimeout: { code: 4408, reason: 'auth_timeout' },
  /** The user already has the maximum number of live connections. */
  tooMany: { code: 4429, reason: 'too_many_connections' },
} as const;

const sessionToken = z.string().min(1).max(200);

export const authMessageSchema = z
  .strictObject({ type: z.literal('auth'), token: sessionToken.describe('The session token') })
  .describe('The first message: authenticates the connection with a session token.');
export const subscribeMessageSchema = z
  .strictObject({ type: z.literal('subscribe'), scope: z.literal('all') })
  .describe('Operators only: receive the events of every deal.');
export const pingMessageSchema = z
  .strictObject({ type: z.literal('ping') })
  .describe('Application-level keep-alive for clients that cannot send WebSocket pings; answered with pong.');

export const LIVE_CLIENT_TYPES = ['auth', 'subscribe', 'ping'] as const;
export const clientMessageSchema = z.discriminatedUnion('type', [
  authMessageSchema,
  subscribeMessageSchema,
  pingMessageSchema,
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const LIVE_ERROR_CODES = {
  message_malformed: 'The message is not JSON, not text, or not a valid message of its type',
  unknown_message: 'The message type is not one of auth, subscribe, ping',
  auth_required: 'Send the auth message first',
  auth_in_progress: 'The connection is already authenticating',
  already_authenticated: 'The connection is already authenticated',
  operator_only: 'Only operators may subscribe to every deal',
} as const;
export type LiveErrorCode = keyof typeof LIVE_ERROR_CODES;

export const readyMessageSchema = z
  .object({ type: z.literal('ready'), userId: z.uuid() })
  .describe('Authenticated: deal events for the user follow.');
export const dealEventMessageSchema = z
  .object({ type: z.literal('deal.event'), event: dealEventSchema })
  .describe(
    "A committed change of one of the user's deals (or of any deal after subscribe scope=all). Delivery is " +
      'at least once: drop repeats by `event.id`; `event.version` orders the events of one deal.',
  );
export const subscribedMessageSchema = z
  .object({ type: z.literal('subscribed'), scope: z.literal('all') })
  .describe('The subscription to every deal is active.');
export const pongMessageSchema = z.object({ type: z.literal('pong') }).describe('Answer to ping.');
export const resyncMessageSchema = z
  .object({ type: z.literal('resync') })
  .describe(
    'The server lost its event feed for a moment and events may have been missed: refetch the deals you show.',
  );
export const reconnectMessageSchema = z
  .object({ type: z.literal('reconnect'), retryAfterMs: z.number().int().nonnegative() })
  .describe('Sent right before a 1012 close: reconnect after this delay (jittered per client).');
export const errorMessageSchema = z
  .object({
    type: z.literal('error'),
    code: z.enum(Object.keys(LIVE_ERROR_CODES) as [LiveErrorCode, ...LiveErrorCode[]]),
    message: z.string(),
  })
  .describe('The message was refused; the connection stays open.');

export const serverMessageSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  dealEventMessageSchema,
  subscribedMessageSchema,
  pongMessageSchema,
  resyncMessageSchema,
  reconnectMessageSchema,
  errorMessageSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

export const liveErrorMessage = (code: LiveErrorCode): ServerMessage => ({
  type: 'error',
  code,
  message: LIVE_ERROR_CODES[code],
});
