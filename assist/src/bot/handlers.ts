import { BOT_TEXT, flattenUserText, type Locale, type Localized, localeOf, stateLabel } from '@amanat/core';
import type { Logger } from '@amanat/platform';
import { type Context, type Telegraf, TelegramError } from 'telegraf';
import { message } from 'telegraf/filters';
import type { InlineKeyboardButton, User } from 'telegraf/types';
import { z } from 'zod';
import { isAssistantError } from '../llm/errors.ts';
import { type ApiClient, ApiProblem, ApiUnavailable, type DealPage } from './api-client.ts';
import type { AppLinks } from './app-links.ts';
import { type Callback, encodeCallback, parseCallback } from './callback-data.ts';
import type { BotMemory, KnownUser, Turn } from './memory.ts';

/** The assistant as the bot uses it: the conversation in, one answer out. */
export type Ask = (req: {
  userId: string;
  messages: Turn[];
  surface: 'bot';
}) => Promise<{ content: string; basic?: boolean }>;

export interface HandlerDeps {
  api: ApiClient;
  memory: BotMemory;
  ask: Ask;
  links: AppLinks;
  logger: Logger;
}

interface BotState {
  /** Null when the API could not register the user (it is down): commands that act for them say so. */
  user: KnownUser | null;
  locale: Locale;
}

const DEALS_PER_PAGE = 5;
/** Telegram's limit on one message's text. */
const MESSAGE_MAX = 4096;
/** What one question to the assistant may be; Telegram allows 4096 characters, the assistant needs less. */
const QUESTION_MAX = 2000;
/** Telegram shows "typing…" for 5 seconds; a longer answer needs the action again. */
const TYPING_REPEAT_MS = 4500;

const DEAL_PAYLOAD = /^deal_([A-Za-z0-9_-]{4,64})$/;
/** "/start", "/start payload" or "/start@bot payload": the command a user sends after unblocking the bot. */
const START_COMMAND = /^\/start(?:@\w+)?(?:\s|$)/;
const LOGIN_PAYLOAD = /^login_([A-Za-z0-9_-]{32})$/;

const stateOf = (ctx: Context): BotState => ctx.state as BotState;
const say = (ctx: Context, text: Localized) => text[stateOf(ctx).locale];

/** The user the bot acts for; without one (the API is down) the caller answers "try again later". */
function actingUser(ctx: Context): { from: User; user: KnownUser } {
  const user = stateOf(ctx).user;
  if (!ctx.from || !user) throw new ApiUnavailable('the user could not be registered');
  return { from: ctx.from, user };
}

const instant = (iso: string, locale: Locale) =>
  `${new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(new Date(iso))} UTC`;

/** Splits a long answer into messages Telegram accepts, at a line break where possible. */
export function splitMessage(text: string, max = MESSAGE_MAX): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const cut = rest.lastIndexOf('\n', max);
    const at = cut > max / 2 ? cut : max;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^\n/, '');
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts;
}

/** Reply options with these buttons (rows without any are dropped), or none. */
const keyboard = (rows: Array<Array<InlineKeyboardButton | null>>) => {
  const kept = rows
    .map((row) => row.filter((b): b is InlineKeyboardButton => b !== null))
    .filter((r) => r.length);
  return kept.length > 0 ? { reply_markup: { inline_keyboard: kept } } : undefined;
};

const callbackButton = (text: string, press: Callback): InlineKeyboardButton => ({
  text,
  callback_data: encodeCallback(press),
});

/** Telegram refuses to "edit" a message into the text it already has; a repeated press does exactly that. */
const notModified = (err: unknown) =>
  err instanceof TelegramError && err.code === 400 && /message is not modified/i.test(err.description);

export function installHandlers(bot: Telegraf, deps: HandlerDeps): void {
  const { api, memory, ask, links, logger } = deps;

  /**
   * The user as the API knows them. Registering also tells the API that Telegram can reach them again;
   * `refresh` skips the cache for the updates that mean exactly that (/start, unblocking the bot), since
   * a warm cache would otherwise leave a user who unblocked the bot marked unreachable.
   */
  async function registered(from: User, refresh = false): Promise<KnownUser | null> {
    const known = await memory.knownUser(from.id);
    if (known && !refresh) return known;
    try {
      const user = await api.registerUser(from);
      const fresh = { id: user.id, language: user.language };
      await memory.rememberUser(from.id, fresh);
      return fresh;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not register a Telegram user with the API');
      return known;
    }
  }

  /** Explains a failure to the user instead of dropping it: the API being down is a normal day. */
  async function explain(ctx: Context, what: string, err: unknown): Promise<void> {
    if (err instanceof TelegramError) {
      // Telegram refused or failed a call (429, 5xx, a blocked chat): another message would fare no better.
      logger.warn({ what, code: err.code, description: err.description }, 'telegram refused a bot call');
      return;
    }
    if (err instanceof ApiUnavailable) logger.warn({ what, err: err.message }, 'api unavailable');
    else logger.error({ what, err }, 'bot handler failed');
    // Our registration went stale (the user row is gone): register again on the next update.
    if (err instanceof ApiProblem && err.code === 'assist_user_unknown' && ctx.from)
      await memory.forgetUser(ctx.from.id);
    const text = say(ctx, BOT_TEXT.tryLater);
    try {
      if (ctx.callbackQuery) await ctx.answerCbQuery(text);
      else await ctx.reply(text);
    } catch (replyErr) {
      logger.warn({ what, err: (replyErr as Error).message }, 'could not tell the user about a failure');
    }
  }

  const guarded =
    <C extends Context>(what: string, handler: (ctx: C) => Promise<void>) =>
    async (ctx: C): Promise<void> => {
      try {
        await handler(ctx);
      } catch (err) {
        await explain(ctx, what, err);
      }
    };

  // Every update: private chats with people only, and the user is registered with the API first, so the
  // credential the bot then presents for them names a user that exists.
  bot.use(async (ctx, next) => {
    const from = ctx.from;
    if (!from || from.is_bot) return;
    if (ctx.chat && ctx.chat.type !== 'private') return;
    const membership = ctx.myChatMember;
    if (membership) {
      // 'member': the user started or unblocked the bot, so it can write to them again. 'kicked': they
      // blocked it; registering now would mark them reachable, and the notification worker marks them
      // unreachable on its first 403 anyway.
      if (membership.new_chat_member.status === 'member') await registered(from, true);
      return;
    }
    const text = ctx.message && 'text' in ctx.message ? ctx.message.text : '';
    const user = await registered(from, START_COMMAND.test(text));
    const state: BotState = { user, locale: user?.language ?? localeOf(from.language_code) };
    Object.assign(ctx.state, state);
    return next();
  });

  async function greet(ctx: Context) {
    const button = links.button(say(ctx, BOT_TEXT.openAppButton), links.home);
    const text = say(ctx, BOT_TEXT.greeting(ctx.from?.first_name ?? ''));
    await ctx.reply(
      button ? text : `${text}\n\n${say(ctx, BOT_TEXT.openAppLink(links.home))}`,
      keyboard([[button]]),
    );
  }

  async function showInvite(ctx: Context, code: string) {
    const { from } = actingUser(ctx);
    let preview: Awaited<ReturnType<ApiClient['invitePreview']>>;
    try {
      preview = await api.invitePreview(from.id, code);
    } catch (err) {
      if (err instanceof ApiProblem && (err.status === 404 || err.status === 400)) {
        await ctx.reply(say(ctx, BOT_TEXT.inviteNotFound));
        return;
      }
      if (err instanceof ApiProblem && err.status === 409) {
        await ctx.reply(say(ctx, BOT_TEXT.inviteNotAvailable));
        return;
      }
      throw err;
    }
    const url = links.join(preview.code);
    const label = preview.yourRole ? BOT_TEXT.openDealButton : BOT_TEXT.joinButton;
    const button = links.button(say(ctx, label), url);
    const text = say(
      ctx,
      BOT_TEXT.invitePreview({
        title: preview.title,
        description: preview.description,
        creatorName: preview.creator.displayName,
        creatorRole: preview.creator.role,
        openRole: preview.openRole,
        price: preview.display.price,
        amountDue: preview.display.amountDue,
        fee: preview.display.fee,
        symbol: preview.asset.symbol,
        feePayer: preview.feePayer,
        yourRole: preview.yourRole,
      }),
    );
    await ctx.reply(
      button ? text : `${text}\n\n${say(ctx, BOT_TEXT.openAppLink(url))}`,
      keyboard([[button]]),
    );
  }

  async function showLogin(ctx: Context, nonce: string) {
    const locale = stateOf(ctx).locale;
    let link: Awaited<ReturnType<ApiClient['loginLink']>>;
    try {
      link = await api.loginLink(nonce);
    } catch (err) {
      if (err instanceof ApiProblem && (err.status === 404 || err.status === 400)) {
        await ctx.reply(say(ctx, BOT_TEXT.loginExpired));
        return;
      }
      throw err;
    }
    if (link.status !== 'pending') {
      const text =
        link.status === 'confirmed' ? BOT_TEXT.loginAlreadyConfirmed : BOT_TEXT.loginAlreadyDeclined;
      await ctx.reply(say(ctx, text));
      return;
    }
    // Only these buttons decide: opening the link itself never confirms anything.
    await ctx.reply(
      say(
        ctx,
        BOT_TEXT.loginPrompt({
          requestedAt: instant(link.requestedAt, locale),
          device: link.device,
          ip: link.ip,
        }),
      ),
      keyboard([
        [
          callbackButton(say(ctx, BOT_TEXT.confirmLoginButton), { kind: 'login', action: 'confirm', nonce }),
          callbackButton(say(ctx, BOT_TEXT.declineLoginButton), { kind: 'login', action: 'decline', nonce }),
        ],
      ]),
    );
  }

  async function showDeals(ctx: Context, cursor?: string) {
    const { from } = actingUser(ctx);
    const locale = stateOf(ctx).locale;
    const page: DealPage = await api.listDeals(from.id, {
      limit: DEALS_PER_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    if (page.deals.length === 0) {
      await ctx.reply(say(ctx, cursor ? BOT_TEXT.pageExpired : BOT_TEXT.noDeals));
      return;
    }
    const lines = page.deals.map((deal, i) => {
      const line = BOT_TEXT.dealLine({
        title: deal.title,
        amount: deal.display.price,
        symbol: deal.asset.symbol,
        state: stateLabel(deal.state, locale),
        yourRole: BOT_TEXT.role(deal.yourRole)[locale],
      })[locale];
      return `${i + 1}. ${line}${links.miniApp ? '' : `\n${links.deal(deal.id)}`}`;
    });
    const rows: Array<Array<InlineKeyboardButton | null>> = page.deals.map((deal, i) => [
      links.button(`${i + 1}. ${flattenUserText(deal.title, 40)}`, links.deal(deal.id)),
    ]);
    if (page.nextCursor) {
      const pageId = await memory.saveDealsPage(page.nextCursor);
      if (pageId)
        rows.push([callbackButton(say(ctx, BOT_TEXT.moreButton), { kind: 'deals_more', page: pageId })]);
    }
    const header = say(ctx, cursor ? BOT_TEXT.dealsMoreHeader : BOT_TEXT.dealsHeader);
    await ctx.reply(`${header}\n\n${lines.join('\n\n')}`, keyboard(rows));
  }

  /** Replaces a message's text and drops its buttons; a message that cannot be edited gets a new one. */
  async function settle(ctx: Context, text: string) {
    try {
      await ctx.editMessageText(text);
    } catch (err) {
      if (notModified(err)) return;
      logger.debug({ err: (err as Error).message }, 'could not edit the message; replying instead');
      await ctx.reply(text);
    }
  }

  async function decideLogin(ctx: Context, press: Extract<Callback, { kind: 'login' }>) {
    const from = ctx.from as User;
    let outcome: Localized;
    try {
      if (press.action === 'confirm') {
        await api.confirmLogin(press.nonce, from);
        outcome = BOT_TEXT.loginConfirmed;
      } else {
        await api.declineLogin(press.nonce);
        outcome = BOT_TEXT.loginDeclined;
      }
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.code === 'login_link_not_found' || err.status === 404 || err.status === 400)
        outcome = BOT_TEXT.loginExpired;
      else if (err.code === 'login_link_declined') outcome = BOT_TEXT.loginAlreadyDeclined;
      else if (err.code === 'login_link_already_used')
        outcome = press.action === 'confirm' ? BOT_TEXT.loginTakenByOther : BOT_TEXT.loginAlreadyConfirmed;
      else throw err;
    }
    await ctx.answerCbQuery(say(ctx, outcome)).catch(() => {});
    await settle(ctx, say(ctx, outcome));
  }

  async function chooseLanguage(ctx: Context, press: Extract<Callback, { kind: 'lang' }>) {
    const { from } = actingUser(ctx);
    const user = await api.setLanguage(from.id, press.language);
    await memory.rememberUser(from.id, { id: user.id, language: user.language });
    stateOf(ctx).locale = user.language;
    await ctx.answerCbQuery().catch(() => {});
    await settle(ctx, say(ctx, BOT_TEXT.langChanged));
  }

  async function moreDeals(ctx: Context, press: Extract<Callback, { kind: 'deals_more' }>) {
    const cursor = await memory.dealsPage(press.page);
    await ctx.answerCbQuery(cursor ? undefined : say(ctx, BOT_TEXT.pageExpired)).catch(() => {});
    if (!cursor) return;
    await showDeals(ctx, cursor);
  }

  /** Keeps "typing…" on screen until `work` settles; the first action goes out before the work starts. */
  async function whileTyping<T>(ctx: Context, work: () => Promise<T>): Promise<T> {
    const typing = () => ctx.sendChatAction('typing').catch(() => {});
    await typing();
    const timer = setInterval(typing, TYPING_REPEAT_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  async function answerQuestion(ctx: Context, question: string) {
    const { user } = actingUser(ctx);
    const chatId = ctx.chat?.id as number;
    let answer: string;
    try {
      answer = await whileTyping(ctx, async () => {
        const history = await memory.conversation(chatId);
        const result = await ask({
          userId: user.id,
          messages: [...history, { role: 'user', content: question }],
          surface: 'bot',
        });
        return result.content;
      });
    } catch (err) {
      if (!isAssistantError(err)) throw err;
      logger.info({ status: err.status, code: err.code }, 'the assistant refused or failed');
      const text =
        err.status === 429
          ? /quota/.test(err.code)
            ? BOT_TEXT.assistantQuota
            : BOT_TEXT.assistantRateLimited
          : BOT_TEXT.assistantUnavailable;
      await ctx.reply(say(ctx, text));
      return;
    }
    for (const part of splitMessage(answer.trim() || '…')) await ctx.reply(part);
    await memory.addExchange(chatId, question, answer);
  }

  bot.start(
    guarded('start', async (ctx) => {
      const payload = z.string().max(64).catch('').parse(ctx.payload).trim();
      const deal = DEAL_PAYLOAD.exec(payload);
      if (deal) return showInvite(ctx, deal[1] as string);
      const login = LOGIN_PAYLOAD.exec(payload);
      if (login) return showLogin(ctx, login[1] as string);
      if (payload.startsWith('login_')) {
        await ctx.reply(say(ctx, BOT_TEXT.loginExpired));
        return;
      }
      if (payload.startsWith('deal_')) {
        await ctx.reply(say(ctx, BOT_TEXT.inviteNotFound));
        return;
      }
      await greet(ctx);
    }),
  );

  bot.command(
    'deals',
    guarded('deals', (ctx) => showDeals(ctx)),
  );

  bot.command(
    'help',
    guarded('help', async (ctx) => {
      await ctx.reply(say(ctx, BOT_TEXT.help));
    }),
  );

  bot.command(
    'lang',
    guarded('lang', async (ctx) => {
      await ctx.reply(
        say(ctx, BOT_TEXT.langPrompt),
        keyboard([
          [
            callbackButton('English', { kind: 'lang', language: 'en' }),
            callbackButton('Русский', { kind: 'lang', language: 'ru' }),
          ],
        ]),
      );
    }),
  );

  bot.on(
    'callback_query',
    guarded('button', async (ctx) => {
      const query = ctx.callbackQuery;
      const press = parseCallback(query && 'data' in query ? query.data : undefined);
      if (!press) {
        await ctx.answerCbQuery(say(ctx, BOT_TEXT.unknownButton));
        return;
      }
      if (press.kind === 'login') return decideLogin(ctx, press);
      if (press.kind === 'lang') return chooseLanguage(ctx, press);
      return moreDeals(ctx, press);
    }),
  );

  bot.on(
    message('text'),
    guarded('question', async (ctx) => {
      const text = ctx.message.text.trim();
      if (text.startsWith('/')) {
        await ctx.reply(say(ctx, BOT_TEXT.unknownCommand));
        return;
      }
      if (!text) return;
      await answerQuestion(ctx, text.slice(0, QUESTION_MAX));
    }),
  );
}
