import { z } from 'zod';
import { PAYMENT_EVENT_TYPES, paymentEventId } from './events.ts';
import { jobId } from './job-id.ts';

/** Queue names. One queue per concern; `scan-<chainId>` exists once per configured chain. */
export const QUEUES = {
  payments: 'payments',
  notifications: 'notifications',
  llm: 'llm',
  deadlines: 'deadlines',
  payouts: 'payouts',
  mirror: 'mirror',
  callbacks: 'callbacks',
  maintenance: 'maintenance',
} as const;
export type FixedQueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const scanQueueName = (chainId: number): string => `scan-${chainId}`;

/** Job names per queue: every worker checks at start that each has exactly one handler. */
export const JOBS = {
  payments: ['verify-payment'],
  /** 'deal-event': one per party (the relay fans events out); 'review-alert': one per flag, for every operator. */
  notifications: ['deal-event', 'review-alert'],
  llm: ['chat'],
  deadlines: ['payment-window', 'delivery-deadline', 'inspection-end'],
  payouts: ['execute-payout'],
  mirror: ['mirror-entity'],
  callbacks: ['deliver-callback'],
  /**
   * Periodic repairs from PostgreSQL: missed deadlines and the scanner's watch sets (after Redis lost
   * data), and payments whose confirmation or reorg report never came or ran out of retries; and the
   * reconciliation of deposit addresses' on-chain balances with the ledger (its own, longer interval).
   */
  maintenance: ['sweep-deadlines', 'rebuild-watch-sets', 'recheck-payments', 'reconcile-balances'],
  scan: ['scan-tick'],
} as const satisfies Record<keyof typeof QUEUES | 'scan', readonly string[]>;

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte hex hash');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 20-byte hex address');
const uintString = z.string().regex(/^\d+$/, 'an unsigned integer as a decimal string');

export const paymentEventTypeSchema = z.enum(PAYMENT_EVENT_TYPES);

/** A job carries ids and facts only, never credentials; the worker re-reads the chain itself. */
export const paymentJobSchema = z.object({
  eventId: z.string().min(1).max(200),
  type: paymentEventTypeSchema,
  chainId: z.number().int().positive(),
  txHash: hex32,
  logIndex: z.number().int().min(-1),
  blockHash: hex32,
  blockNumber: uintString,
  to: address,
  token: z.union([address, z.literal('native')]),
});
export type PaymentJob = z.infer<typeof paymentJobSchema>;
/** One job per reported fact: the same id as the event that caused it (see `paymentEventId`). */
export const paymentJobId = (
  j: Pick<PaymentJob, 'chainId' | 'txHash' | 'logIndex' | 'type' | 'blockHash'>,
): string => paymentEventId(j.type, j);

export const notificationJobSchema = z.object({
  eventId: z.uuid(),
  dealId: z.uuid(),
  /** The activity entry the event reports: the worker reads what happened from the log, not the job. */
  seq: z.number().int().positive(),
  recipientUserId: z.uuid(),
  channel: z.literal('telegram'),
});
export type NotificationJob = z.infer<typeof notificationJobSchema>;
export const notificationJobId = (
  j: Pick<NotificationJob, 'eventId' | 'recipientUserId' | 'channel'>,
): string => jobId(j.eventId, j.recipientUserId, j.channel);

/**
 * Operators are told when a deal is flagged for review or gets a new review reason. One job per activity
 * entry that raised it: the worker reads the deal and the entry, and sends to every configured operator.
 */
export const reviewAlertJobSchema = z.object({
  dealId: z.uuid(),
  seq: z.number().int().positive(),
});
export type ReviewAlertJob = z.infer<typeof reviewAlertJobSchema>;
export const reviewAlertJobId = (j: ReviewAlertJob): string => jobId('review', j.dealId, j.seq);

export const deadlineKindSchema = z.enum(['payment-window', 'delivery-deadline', 'inspection-end']);
export type DeadlineKind = z.infer<typeof deadlineKindSchema>;
export const deadlineJobSchema = z.object({
  dealId: z.uuid(),
  kind: deadlineKindSchema,
  /** The deal version that set this deadline: a changed deadline makes an older job a no-op. */
  version: z.number().int().positive(),
  dueAt: z.iso.datetime(),
});
export type DeadlineJob = z.infer<typeof deadlineJobSchema>;
export const deadlineJobId = (j: DeadlineJob): string => jobId(j.dealId, j.kind, j.version);

export const payoutJobSchema = z.object({
  dealId: z.uuid(),
  /** What caused the payout (the activity entry's seq), so late funds can cause a second one. */
  cause: z.string().min(1).max(100),
});
export type PayoutJob = z.infer<typeof payoutJobSchema>;
export const payoutJobId = (j: PayoutJob): string => jobId(j.dealId, j.cause);

export const mirrorEntitySchema = z.enum(['deal', 'user']);
export const mirrorJobSchema = z.object({
  entity: mirrorEntitySchema,
  id: z.uuid(),
  version: z.number().int().nonnegative(),
});
export type MirrorJob = z.infer<typeof mirrorJobSchema>;
export const mirrorJobId = (j: MirrorJob): string => jobId(j.entity, j.id, j.version);

/** One turn of the conversation as the client sent it; system prompts and tools are the server's. */
export const llmMessageSchema = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string().max(32_000),
});
export type LlmMessage = z.infer<typeof llmMessageSchema>;

/**
 * An assistant request. It carries ids and the conversation, never a credential: the worker resolves the
 * user from `userId` itself and runs every tool with that user's own access. The answer streams on
 * `llmStreamChannel(requestId)`.
 */
export const llmJobSchema = z.object({
  requestId: z.uuid(),
  userId: z.uuid(),
  messages: z.array(llmMessageSchema).min(1).max(100),
  /** Where the answer is shown: the app renders Markdown, the bot gets plain text. */
  surface: z.enum(['app', 'bot']),
  /** Upper bound on completion tokens the client asked for, within the server's own cap. */
  maxTokens: z.number().int().positive().max(8192).optional(),
});
export type LlmJob = z.infer<typeof llmJobSchema>;

export const callbackJobSchema = z.object({
  eventId: z.string().min(1).max(200),
  body: z.string().min(2).max(64_000),
});
export type CallbackJob = z.infer<typeof callbackJobSchema>;

/** Maintenance jobs carry nothing: each reads what it repairs from PostgreSQL. */
export const maintenanceJobSchema = z.object({}).strict();
export type MaintenanceJob = z.infer<typeof maintenanceJobSchema>;

/** The one job a scan queue runs, every poll interval. */
export const scanJobSchema = z.object({ chainId: z.number().int().positive() }).strict();
export type ScanJob = z.infer<typeof scanJobSchema>;

/** Every queue payload schema by queue name, for producers and for the outbox relay's check. */
export const JOB_SCHEMAS = {
  payments: paymentJobSchema,
  // One queue, two job kinds: a payload must be one of them (the worker checks it against its job's name).
  notifications: z.union([notificationJobSchema, reviewAlertJobSchema]),
  llm: llmJobSchema,
  deadlines: deadlineJobSchema,
  payouts: payoutJobSchema,
  mirror: mirrorJobSchema,
  callbacks: callbackJobSchema,
  maintenance: maintenanceJobSchema,
} as const satisfies Record<FixedQueueName, z.ZodType>;
