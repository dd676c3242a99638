import type { Localized } from './locale.ts';

/**
 * What the Telegram bot says, in every locale. Messages are sent as plain text (no parse mode), so a
 * deal title or a device name written by someone else can never turn into markup. Text written by
 * people (titles, descriptions, names, a browser's device string) goes through `flattenUserText` and is
 * shown quoted and labelled, after what the server states: a description with its own "Price:" lines
 * must not pass for the real terms.
 */

/** Bidirectional controls: they can make quoted text look as if it ended earlier or read backwards. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * User-written text on one line: line breaks, control characters and runs of spaces become one space,
 * bidirectional controls go, the guillemets the bot quotes with become plain quotes (so the text cannot
 * close its own quote), and it is clipped to `max` characters (code points: an emoji is never cut).
 */
export function flattenUserText(text: string, max: number): string {
  const flat = text
    .replace(BIDI_CONTROLS, '')
    .replace(/[«»]/gu, '"')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\s]+/gu, ' ')
    .trim();
  const chars = Array.from(flat);
  if (chars.length <= max) return flat;
  return `${chars
    .slice(0, Math.max(0, max - 1))
    .join('')
    .trimEnd()}…`;
}

/** How much of each piece of user-written text the bot shows. */
export const BOT_USER_TEXT_MAX = {
  name: 64,
  title: 120,
  description: 300,
  device: 120,
} as const;

/** Flattened and between guillemets: the reader sees where someone else's words begin and end. */
const quote = (text: string, max: number) => `«${flattenUserText(text, max)}»`;

const role = (r: 'seller' | 'buyer'): Localized =>
  r === 'seller' ? { en: 'seller', ru: 'продавец' } : { en: 'buyer', ru: 'покупатель' };

/** The role in the instrumental case, as Russian needs it after "как"/"в роли". */
const roleAs = (r: 'seller' | 'buyer'): Localized =>
  r === 'seller' ? { en: 'the seller', ru: 'продавцом' } : { en: 'the buyer', ru: 'покупателем' };

export interface InvitePreviewText {
  title: string;
  description: string;
  creatorName: string;
  creatorRole: 'seller' | 'buyer';
  openRole: 'seller' | 'buyer';
  price: string;
  amountDue: string;
  fee: string;
  symbol: string;
  feePayer: 'seller' | 'split';
  /** Set when the reader already holds a role in this deal (the creator opening their own link). */
  yourRole: 'seller' | 'buyer' | null;
}

export interface DealLineText {
  title: string;
  amount: string;
  symbol: string;
  state: string;
  yourRole: string;
}

export const BOT_TEXT = {
  commands: {
    start: { en: 'Open Amanat', ru: 'Открыть Amanat' },
    deals: { en: 'My deals', ru: 'Мои сделки' },
    lang: { en: 'Change the language', ru: 'Сменить язык' },
    help: { en: 'How Amanat works', ru: 'Как работает Amanat' },
  },
  greeting: (rawName: string): Localized => {
    const name = flattenUserText(rawName, BOT_USER_TEXT_MAX.name);
    return {
      en:
        `Hello, ${name || 'there'}!\n\n` +
        'Amanat keeps the money of a deal safe until both sides have done their part: the buyer pays into ' +
        'escrow, the seller delivers, and only then is the money released to the seller.\n\n' +
        'Open the app to create a deal or join one. /deals lists your deals, /help explains the rest, and ' +
        'you can ask me anything about your deals right here.',
      ru:
        `${name ? `Здравствуйте, ${name}!` : 'Здравствуйте!'}\n\n` +
        'Amanat хранит деньги сделки, пока обе стороны не выполнят свою часть: покупатель платит на ' +
        'эскроу, продавец передаёт товар или услугу, и только тогда деньги уходят продавцу.\n\n' +
        'Откройте приложение, чтобы создать сделку или присоединиться к ней. /deals — ваши сделки, /help — ' +
        'как всё устроено, а вопросы о ваших сделках можно задать прямо здесь.',
    };
  },
  openAppButton: { en: 'Open Amanat', ru: 'Открыть Amanat' },
  /** When the app is not on HTTPS (local development), Telegram cannot open it as a Mini App. */
  openAppLink: (url: string): Localized => ({
    en: `Open the app in your browser: ${url}`,
    ru: `Откройте приложение в браузере: ${url}`,
  }),
  invitePreview: (p: InvitePreviewText): Localized => {
    const feeWho: Localized =
      p.feePayer === 'seller'
        ? { en: 'paid by the seller', ru: 'платит продавец' }
        : { en: 'split between the seller and the buyer', ru: 'делится между продавцом и покупателем' };
    const name = flattenUserText(p.creatorName, BOT_USER_TEXT_MAX.name);
    const title = quote(p.title, BOT_USER_TEXT_MAX.title);
    const description = flattenUserText(p.description, BOT_USER_TEXT_MAX.description)
      ? quote(p.description, BOT_USER_TEXT_MAX.description)
      : '';
    // The server's terms come first; what the creator wrote follows, quoted and labelled as theirs.
    return {
      en:
        `${name ? `«${name}»` : 'Someone'} invites you to a deal as ${roleAs(p.openRole).en}.\n\n` +
        `Price: ${p.price} ${p.symbol}\n` +
        `The buyer pays: ${p.amountDue} ${p.symbol}\n` +
        `Fee: ${p.fee} ${p.symbol}, ${feeWho.en}\n\n` +
        `Written by ${roleAs(p.creatorRole).en} (Amanat does not check it):\n` +
        `Title: ${title}\n` +
        (description ? `Description: ${description}\n` : '') +
        '\n' +
        (p.yourRole
          ? `You are already in this deal as ${roleAs(p.yourRole).en}.`
          : `The money waits in escrow until the deal is done. Press "Join" to review the terms and take part as ${roleAs(p.openRole).en}.`),
      ru:
        `${name ? `«${name}»` : 'Пользователь'} приглашает вас в сделку ${roleAs(p.openRole).ru}.\n\n` +
        `Цена: ${p.price} ${p.symbol}\n` +
        `Покупатель платит: ${p.amountDue} ${p.symbol}\n` +
        `Комиссия: ${p.fee} ${p.symbol}, ${feeWho.ru}\n\n` +
        `Написано ${roleAs(p.creatorRole).ru} (Amanat это не проверяет):\n` +
        `Название: ${title}\n` +
        (description ? `Описание: ${description}\n` : '') +
        '\n' +
        (p.yourRole
          ? `Вы уже участвуете в этой сделке ${roleAs(p.yourRole).ru}.`
          : `Деньги ждут на эскроу, пока сделка не завершится. Нажмите «Присоединиться», чтобы проверить условия и стать ${roleAs(p.openRole).ru}.`),
    };
  },
  joinButton: { en: 'Join', ru: 'Присоединиться' },
  openDealButton: { en: 'Open the deal', ru: 'Открыть сделку' },
  inviteNotFound: {
    en: 'This invite link is not valid. Ask the other side to send it again.',
    ru: 'Эта ссылка-приглашение недействительна. Попросите другую сторону прислать её ещё раз.',
  },
  inviteNotAvailable: {
    en: 'This invite can no longer be used: someone has already joined the deal, or it was closed.',
    ru: 'Это приглашение больше не действует: к сделке уже присоединились или она закрыта.',
  },
  loginPrompt: (p: { requestedAt: string; device: string; ip: string }): Localized => ({
    en:
      'Someone asked to sign in to Amanat in a browser with your Telegram account.\n\n' +
      `Requested: ${p.requestedAt}\nIP address: ${p.ip}\n` +
      `Device, as the browser describes itself: ${quote(p.device, BOT_USER_TEXT_MAX.device)}\n\n` +
      'Confirm only if this was you. If not, decline: nobody gets in without your confirmation.',
    ru:
      'Кто-то хочет войти в Amanat в браузере с вашим аккаунтом Telegram.\n\n' +
      `Запрошено: ${p.requestedAt}\nIP-адрес: ${p.ip}\n` +
      `Устройство, как его называет браузер: ${quote(p.device, BOT_USER_TEXT_MAX.device)}\n\n` +
      'Подтвердите, только если это вы. Если нет — отклоните: без вашего подтверждения никто не войдёт.',
  }),
  confirmLoginButton: { en: 'Confirm', ru: 'Подтвердить' },
  declineLoginButton: { en: 'Decline', ru: 'Отклонить' },
  loginConfirmed: {
    en: 'Login confirmed. Go back to your browser: you are signed in.',
    ru: 'Вход подтверждён. Вернитесь в браузер: вы вошли.',
  },
  loginDeclined: {
    en: 'Login declined. Nobody was signed in.',
    ru: 'Вход отклонён. Никто не вошёл.',
  },
  loginExpired: {
    en: 'This login request is unknown or has expired. Ask for a new one in your browser.',
    ru: 'Этот запрос на вход не найден или устарел. Запросите новый в браузере.',
  },
  loginAlreadyConfirmed: {
    en: 'This login has already been confirmed.',
    ru: 'Этот вход уже подтверждён.',
  },
  loginAlreadyDeclined: {
    en: 'This login has already been declined.',
    ru: 'Этот вход уже отклонён.',
  },
  loginTakenByOther: {
    en: 'Another Telegram account has already confirmed this login.',
    ru: 'Этот вход уже подтвердил другой аккаунт Telegram.',
  },
  dealsHeader: { en: 'Your deals:', ru: 'Ваши сделки:' },
  dealsMoreHeader: { en: 'More of your deals:', ru: 'Ещё ваши сделки:' },
  noDeals: {
    en: 'You have no deals yet. Open the app to create one, or open an invite link someone sent you.',
    ru: 'У вас пока нет сделок. Создайте сделку в приложении или откройте присланную вам ссылку-приглашение.',
  },
  dealLine: (d: DealLineText): Localized => {
    const title = quote(d.title, BOT_USER_TEXT_MAX.title);
    return {
      en: `${title}\n${d.amount} ${d.symbol} · ${d.state} · you are the ${d.yourRole}`,
      ru: `${title}\n${d.amount} ${d.symbol} · ${d.state} · вы ${d.yourRole}`,
    };
  },
  role: (r: 'seller' | 'buyer' | 'arbitrator' | 'operator'): Localized =>
    r === 'seller' || r === 'buyer'
      ? role(r)
      : r === 'arbitrator'
        ? { en: 'arbitrator', ru: 'арбитр' }
        : { en: 'operator', ru: 'оператор' },
  moreButton: { en: 'More', ru: 'Ещё' },
  pageExpired: {
    en: 'This list is out of date. Send /deals again.',
    ru: 'Этот список устарел. Отправьте /deals ещё раз.',
  },
  help: {
    en:
      'How Amanat works\n\n' +
      'Escrow: one side creates a deal and sends the invite link; the other joins and both accept the ' +
      'terms. The buyer pays in stablecoins to the deal’s own deposit address. The money stays there ' +
      'until the buyer confirms delivery (or the inspection period ends), and then goes to the seller. ' +
      'A deal nobody pays for in time expires, and nothing is lost.\n\n' +
      'Fees: a small percentage of the price, with a minimum per currency. It is fixed when the deal is ' +
      'created and shown before anyone pays. The seller pays it, or the two sides split it.\n\n' +
      'Disputes: if something goes wrong after payment, either side can open a dispute in the app before ' +
      'the deal is complete. An arbitrator reads both sides and releases the money to the seller, refunds ' +
      'the buyer, or splits it.\n\n' +
      'Commands: /deals your deals, /lang language, /start open the app. Or just ask me a question.',
    ru:
      'Как работает Amanat\n\n' +
      'Эскроу: одна сторона создаёт сделку и отправляет ссылку-приглашение, другая присоединяется, и обе ' +
      'принимают условия. Покупатель платит стейблкоинами на отдельный адрес сделки. Деньги остаются там, ' +
      'пока покупатель не подтвердит получение (или не закончится срок проверки), и затем уходят ' +
      'продавцу. Если сделку не оплатили вовремя, она истекает, и никто ничего не теряет.\n\n' +
      'Комиссия: небольшой процент от цены, с минимумом для каждой валюты. Она фиксируется при создании ' +
      'сделки и видна до оплаты. Её платит продавец, или стороны делят её пополам.\n\n' +
      'Споры: если после оплаты что-то пошло не так, любая сторона может открыть спор в приложении, пока ' +
      'сделка не завершена. Арбитр изучает позиции сторон и выплачивает деньги продавцу, возвращает ' +
      'покупателю или делит их.\n\n' +
      'Команды: /deals ваши сделки, /lang язык, /start открыть приложение. Или просто задайте вопрос.',
  },
  langPrompt: { en: 'Choose your language:', ru: 'Выберите язык:' },
  langChanged: {
    en: 'Done: I will write to you in English.',
    ru: 'Готово: теперь я пишу вам по-русски.',
  },
  tryLater: {
    en: 'Amanat cannot be reached right now. Please try again in a minute.',
    ru: 'Amanat сейчас недоступен. Попробуйте ещё раз через минуту.',
  },
  assistantRateLimited: {
    en: 'You are asking faster than I can answer. Please wait a minute and ask again.',
    ru: 'Вы спрашиваете быстрее, чем я успеваю отвечать. Подождите минуту и спросите снова.',
  },
  assistantQuota: {
    en: 'You have used up today’s assistant limit. It resets at midnight UTC; the app and /deals still work.',
    ru: 'Дневной лимит ассистента исчерпан. Он обновится в полночь по UTC; приложение и /deals работают.',
  },
  assistantUnavailable: {
    en: 'The assistant cannot answer right now. Please try again later; /deals and the app still work.',
    ru: 'Ассистент сейчас не может ответить. Попробуйте позже; /deals и приложение работают.',
  },
  stillAnswering: {
    en: 'One moment: I am still answering your previous messages. Send this one again once I have replied.',
    ru: 'Минутку: я ещё отвечаю на ваши предыдущие сообщения. Отправьте это ещё раз, когда я отвечу.',
  },
  unknownButton: {
    en: 'This button is no longer valid.',
    ru: 'Эта кнопка больше не действует.',
  },
  unknownCommand: {
    en: 'I do not know that command. Try /help.',
    ru: 'Я не знаю такой команды. Попробуйте /help.',
  },
} as const;
