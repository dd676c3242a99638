import {
  type ActivityEntry,
  type AssetRef,
  type AssetRegistry,
  dealNotificationText,
  type Locale,
  type NotificationAsset,
  type NotificationRole,
  type ReviewAlertInput,
  reviewAlertText,
} from '@amanat/core';
import type { NotifiedDeal } from './deliveries.ts';
import type { MessageBody } from './send.ts';

/** A Bot API sendMessage body without the chat: HTML text and, when the app is on HTTPS, its button. */
export type RenderedNotification = MessageBody;

export type NotifiedEntry = Pick<ActivityEntry, 'action' | 'actor' | 'stateBefore' | 'stateAfter' | 'facts'>;

/** An asset the registry no longer lists is shown in base units rather than with guessed decimals. */
const UNKNOWN_ASSET: NotificationAsset = { symbol: 'units', decimals: 0 };

function assetFormat(registry: AssetRegistry, ref: AssetRef): NotificationAsset {
  const token = registry.findToken(ref);
  return token ? { symbol: token.symbol, decimals: token.decimals } : UNKNOWN_ASSET;
}

/** A transaction's page on the chain's explorer (etherscan-style `/tx/<hash>`); null when the registry has none. */
export function explorerTxUrl(registry: AssetRegistry, chainId: number, txHash: string): string | null {
  const base = registry.chain(chainId)?.explorerUrl;
  return base ? `${base.replace(/\/+$/, '')}/tx/${txHash}` : null;
}

/**
 * The message for one party about one activity entry. `webAppOrigin` is the app's HTTPS origin, or null
 * when there is none Telegram would open (it accepts only https web_app URLs): then there is no button.
 */
export function renderNotification(input: {
  entry: NotifiedEntry;
  deal: NotifiedDeal;
  recipient: { userId: string; role: NotificationRole; locale: Locale };
  registry: AssetRegistry;
  webAppOrigin: string | null;
}): RenderedNotification {
  const { entry, deal, recipient, registry } = input;
  const { text, button } = dealNotificationText(
    {
      action: entry.action,
      stateBefore: entry.stateBefore,
      stateAfter: entry.stateAfter,
      facts: entry.facts,
      actor: entry.actor,
      recipient: { userId: recipient.userId, role: recipient.role },
      deal: {
        title: deal.title,
        amountDue: deal.amountDue,
        asset: assetFormat(registry, deal.asset),
        deadlines: deal.deadlines,
      },
      assetOf: (ref) =>
        registry.findToken({ chainId: ref.chainId, token: ref.token as AssetRef['token'] })
          ? assetFormat(registry, { chainId: ref.chainId, token: ref.token as AssetRef['token'] })
          : undefined,
      explorerTxUrl: (chainId, txHash) => explorerTxUrl(registry, chainId, txHash),
    },
    recipient.locale,
  );
  return messageBody(text, button, input.webAppOrigin && `${input.webAppOrigin}/deals/${deal.id}`);
}

/** Where an operator's alert button goes: the app's review screen, which lists every flagged deal. */
export const REVIEW_PATH = '/review';

/** The alert one operator gets about a deal flagged for review; the button only with an https app. */
export function renderReviewAlert(
  input: ReviewAlertInput & { locale: Locale; webAppOrigin: string | null },
): RenderedNotification {
  const { text, button } = reviewAlertText(input, input.locale);
  return messageBody(text, button, input.webAppOrigin && `${input.webAppOrigin}${REVIEW_PATH}`);
}

/** An HTML message with one button opening the app as a Mini App; none without an https app (null url). */
function messageBody(text: string, button: string, webAppUrl: string | null): RenderedNotification {
  return {
    text,
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
    ...(webAppUrl
      ? { reply_markup: { inline_keyboard: [[{ text: button, web_app: { url: webAppUrl } }]] } }
      : {}),
  };
}
