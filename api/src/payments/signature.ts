import { type Webhook, WebhookVerificationError } from 'standardwebhooks';
import { ApiError } from '../http/problem.ts';

/** Standard Webhooks' tolerance, either way: older is a replay, newer a clock that is wrong. */
export const WEBHOOK_TOLERANCE_SEC = 5 * 60;

/**
 * Ids become a Redis key and the job's eventId. The scanner's ids (`paymentEventId`) and the
 * `msg_…` ids of other senders fit; a '.' is refused because the signed text joins id, timestamp and
 * body with dots.
 */
export const WEBHOOK_ID_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const refused = (code: string, detail: string) => new ApiError(401, code, detail);

/**
 * Checks the three headers before the body is read, so an unsigned or replayed request costs nothing.
 * The library parses the timestamp leniently (`parseInt`), so it is held to digits only here.
 */
export function checkWebhookHeaders(
  get: (name: keyof WebhookHeaders) => string | undefined,
  nowMs = Date.now(),
): WebhookHeaders {
  const id = get('webhook-id');
  const timestamp = get('webhook-timestamp');
  const signature = get('webhook-signature');
  if (!id || !timestamp || !signature) {
    throw refused(
      'webhook_headers_missing',
      'The webhook-id, webhook-timestamp and webhook-signature headers are required',
    );
  }
  if (!WEBHOOK_ID_PATTERN.test(id)) {
    throw refused('webhook_headers_invalid', 'webhook-id must be 1-200 characters of A-Z, a-z, 0-9, _ and -');
  }
  if (!TIMESTAMP_PATTERN.test(timestamp)) {
    throw refused('webhook_headers_invalid', 'webhook-timestamp must be Unix seconds');
  }
  const skew = Number(timestamp) - Math.floor(nowMs / 1000);
  if (skew < -WEBHOOK_TOLERANCE_SEC) {
    throw refused('webhook_timestamp_stale', 'webhook-timestamp is more than 5 minutes old');
  }
  if (skew > WEBHOOK_TOLERANCE_SEC) {
    throw refused('webhook_timestamp_stale', 'webhook-timestamp is more than 5 minutes in the future');
  }
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
}

/**
 * Verifies the signature over the body exactly as received (HMAC-SHA256, compared in constant time by
 * the library). Refusals never repeat the signature or anything derived from the secret.
 */
export function verifyWebhookBody(webhook: Webhook, body: Buffer, headers: WebhookHeaders): void {
  try {
    webhook.verify(body, { ...headers }, { jsonParse: false });
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    // The headers were checked already; only a timestamp crossing the edge in between lands here.
    if (/timestamp too/i.test(err.message)) {
      throw refused('webhook_timestamp_stale', 'webhook-timestamp is outside 5 minutes of now');
    }
    throw refused('webhook_signature_invalid', 'The webhook signature does not match the body');
  }
}
