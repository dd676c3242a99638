import type {
  ApprovePayoutInput,
  ApprovePayoutResult,
  AssetList,
  CancelInput,
  ClearReviewInput,
  CreateDealInput,
  DealActivity,
  DealDetail,
  DealList,
  DealView,
  DisputeInput,
  DisputeMessageInput,
  InvitePreview,
  JoinDealInput,
  LoginLinkPending,
  LoginLinkSession,
  NewLoginLink,
  ResolveInput,
  ResolveReviewInput,
  ResolveReviewResult,
  RetryPayoutsInput,
  RetryPayoutsResult,
  ReviewDealResult,
  ReviewList,
  Session,
  StrayDecisionInput,
  StrayDecisionResult,
  User,
} from '@amanat/core/api';
import type { ApiClient } from './client.ts';

export type DealScope = 'mine' | 'disputed' | 'review';
export type DealAction =
  | 'accept'
  | 'cancel'
  | 'deliver'
  | 'confirm'
  | 'dispute'
  | 'dispute/messages'
  | 'resolve';
export type LoginLinkPoll = LoginLinkSession | LoginLinkPending;

/**
 * Every API call the app makes, typed by the API's own contract (core/src/contracts/api): the request
 * and answer shapes are the schemas the API validates with, so the two cannot drift apart.
 */
export function endpoints(client: ApiClient) {
  const r = client.request;
  const dealPath = (id: string) => `/api/deals/${encodeURIComponent(id)}`;
  return {
    // ---- auth
    signInWithInitData: (initData: string) =>
      r<Session>('/api/auth/telegram', { body: { initData }, auth: false }),
    devSignIn: (telegramId: number) => r<Session>('/api/auth/dev', { body: { telegramId }, auth: false }),
    newLoginLink: (device?: string) =>
      r<NewLoginLink>('/api/auth/login-link', { body: device ? { device } : {}, auth: false }),
    pollLoginLink: (nonce: string, pollSecret: string, signal?: AbortSignal) =>
      r<LoginLinkPoll>(`/api/auth/login-link/${encodeURIComponent(nonce)}`, {
        auth: false,
        // core's POLL_SECRET_HEADER; only types come from core, so its schemas stay out of the bundle.
        headers: { 'x-poll-secret': pollSecret },
        ...(signal ? { signal } : {}),
      }),
    me: () => r<User>('/api/auth/me'),
    setLanguage: (language: User['language']) =>
      r<User>('/api/auth/me', { method: 'PATCH', body: { language } }),
    signOut: () => r<null>('/api/auth/logout', { method: 'POST' }),

    // ---- deals
    assets: () => r<AssetList>('/api/assets', { auth: false }),
    listDeals: (q: { scope?: DealScope; status?: string; cursor?: string; limit?: number } = {}) =>
      r<DealList>('/api/deals', { query: q }),
    getDeal: (id: string) => r<DealDetail>(dealPath(id)),
    activity: (id: string) => r<DealActivity>(`${dealPath(id)}/activity`),
    createDeal: (body: CreateDealInput, idempotencyKey: string) =>
      r<DealView>('/api/deals', { body, idempotencyKey }),
    invite: (code: string) => r<InvitePreview>(`/api/invites/${encodeURIComponent(code)}`),
    joinDeal: (body: JoinDealInput, idempotencyKey: string) =>
      r<DealView>('/api/deals/join', { body, idempotencyKey }),
    act: (
      id: string,
      action: DealAction,
      body: { version?: number } | CancelInput | DisputeInput | DisputeMessageInput | ResolveInput,
      idempotencyKey: string,
    ) => r<DealView>(`${dealPath(id)}/${action}`, { body, idempotencyKey }),
    setAddress: (id: string, address: string, version: number | undefined, idempotencyKey: string) =>
      r<DealView>(`${dealPath(id)}/address`, { body: { address, version }, idempotencyKey }),

    // ---- operators
    reviews: (cursor?: string) => r<ReviewList>('/api/admin/reviews', { query: { cursor } }),
    clearReview: (id: string, body: ClearReviewInput, idempotencyKey: string) =>
      r<ReviewDealResult>(`/api/admin/deals/${encodeURIComponent(id)}/clear-review`, {
        body,
        idempotencyKey,
      }),
    decideStrayPayment: (id: string, paymentId: string, body: StrayDecisionInput, idempotencyKey: string) =>
      r<StrayDecisionResult>(
        `/api/admin/deals/${encodeURIComponent(id)}/payments/${encodeURIComponent(paymentId)}/decision`,
        { body, idempotencyKey },
      ),
    resolveReview: (id: string, body: ResolveReviewInput, idempotencyKey: string) =>
      r<ResolveReviewResult>(`/api/admin/deals/${encodeURIComponent(id)}/resolve-review`, {
        body,
        idempotencyKey,
      }),
    approvePayout: (payoutId: string, body: ApprovePayoutInput, idempotencyKey: string) =>
      r<ApprovePayoutResult>(`/api/admin/payouts/${encodeURIComponent(payoutId)}/approve`, {
        body,
        idempotencyKey,
      }),
    retryPayouts: (dealId: string, body: RetryPayoutsInput, idempotencyKey: string) =>
      r<RetryPayoutsResult>(`/api/admin/deals/${encodeURIComponent(dealId)}/retry-payouts`, {
        body,
        idempotencyKey,
      }),
  };
}
export type Endpoints = ReturnType<typeof endpoints>;
