import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUND_ADDRESS, startTestApi, TEST_SERVICE_SECRET, type TestApi } from '../../../api/src/testing.ts';
import { startTelegramDouble, type TelegramDouble } from '../../../devstack/telegram-double.ts';
import { until } from '../../../devstack/testing.ts';
import { AssistantError } from '../llm/errors.ts';
import { CALLBACK_DATA_MAX_BYTES, encodeCallback, parseCallback } from './callback-data.ts';
import type { Ask } from './handlers.ts';
import { buttonsOf, createTestBot, exchange, newTelegramUser, press, type TestBot } from './testing.ts';

// One API, one Bot API double and one polling bot for the file; every test talks as its own Telegram
// user, so each reads only its own chat.
let api: TestApi;
let tg: TelegramDouble;
let harness: TestBot;
const asked: Array<Parameters<Ask>[0]> = [];
let answer: Ask = async () => ({ content: 'unset' });

beforeAll(async () => {
  api = await startTestApi();
  tg = await startTelegramDouble();
  harness = await createTestBot({
    tg,
    apiUrl: api.url,
    serviceSecret: TEST_SERVICE_SECRET,
    ask: (req) => {
      asked.push(structuredClone(req));
      return answer(req);
    },
  });
  await harness.bot.start();
});

afterAll(async () => {
  await harness?.close();
  await tg?.close();
  await api?.close();
});

const sessionOf = async (tgId: number) => api.signIn(tgId);

describe('start', () => {
  it('connects by long polling and sets the commands in both languages and the Mini App menu button', async () => {
    expect(harness.bot.state()).toBe('running');
    expect(tg.callsOf('deleteWebhook')).toHaveLength(1);
    const commands = tg.callsOf('setMyCommands');
    expect(commands.map((c) => c.params.language_code ?? 'default').sort()).toEqual(['default', 'ru']);
    const en = commands.find((c) => !c.params.language_code);
    expect(en?.params.commands.map((c: { command: string }) => c.command)).toEqual([
      'start',
      'deals',
      'lang',
      'help',
    ]);
    const ru = commands.find((c) => c.params.language_code === 'ru');
    expect(ru?.params.commands[1].description).toBe('Мои сделки');
    expect(tg.callsOf('setChatMenuButton')[0]?.params.menu_button).toEqual({
      type: 'web_app',
      text: 'Amanat',
      web_app: { url: 'https://app.test/' },
    });
  });

  it('/start greets the user and offers the Mini App, registering them with the API', async () => {
    const user = newTelegramUser({ first_name: 'Alice' });
    const reply = await exchange(tg, user, '/start');
    expect(reply.method).toBe('sendMessage');
    expect(reply.params.text).toContain('Hello, Alice!');
    expect(buttonsOf(reply)).toEqual([{ text: 'Open Amanat', web_app: { url: 'https://app.test/' } }]);
    // The bot registered the user with the API before anything else.
    const { rows } = await api.db.pool.query('SELECT display_name FROM users WHERE telegram_id = $1', [
      user.id,
    ]);
    expect(rows[0]?.display_name).toBe('Alice');
  });

  it('/start greets a Russian-speaking user in Russian', async () => {
    const user = newTelegramUser({ first_name: 'Борис', language_code: 'ru' });
    const reply = await exchange(tg, user, '/start');
    expect(reply.params.text).toContain('Здравствуйте, Борис!');
    expect(buttonsOf(reply)[0]?.text).toBe('Открыть Amanat');
  });
});

describe('invite deep links', () => {
  it('/start deal_<code> shows the deal and a Join button into the Mini App', async () => {
    const seller = newTelegramUser({ first_name: 'Sam' });
    const deal = await api.createDeal(await api.signIn(seller.id, { firstName: 'Sam Seller' }), {
      title: 'Road bike',
      description: 'Blue, 54 cm frame',
    });
    const code = deal.invite.code as string;
    const buyer = newTelegramUser();
    const reply = await exchange(tg, buyer, `/start deal_${code}`);
    const text = reply.params.text as string;
    expect(text).toContain('«Sam Seller» invites you to a deal as the buyer');
    expect(text).toContain('Title: «Road bike»');
    expect(text).toContain('Description: «Blue, 54 cm frame»');
    expect(text).toContain('Price: 500 USDT');
    expect(buttonsOf(reply)).toEqual([{ text: 'Join', web_app: { url: `https://app.test/join/${code}` } }]);
  });

  it('a description with its own "Price:" lines cannot pass for the terms: those come first, it is quoted', async () => {
    const seller = newTelegramUser();
    const deal = await api.createDeal(await api.signIn(seller.id, { firstName: 'Mallory' }), {
      title: 'Phone\nPrice: 10 USDT',
      description: 'Like new.\n\nPrice: 10 USDT\nThe buyer pays: 10 USDT\nFee: 0 USDT, paid by the seller',
    });
    const reply = await exchange(tg, newTelegramUser(), `/start deal_${deal.invite.code}`);
    const lines = (reply.params.text as string).split('\n');
    expect(lines.filter((l) => /^(Price|The buyer pays|Fee):/.test(l))).toEqual([
      'Price: 500 USDT',
      expect.stringMatching(/^The buyer pays: [\d.]+ USDT$/),
      expect.stringMatching(/^Fee: [\d.]+ USDT, /),
    ]);
    expect(lines.filter((l) => l.includes('10 USDT'))).toEqual([
      'Title: «Phone Price: 10 USDT»',
      'Description: «Like new. Price: 10 USDT The buyer pays: 10 USDT Fee: 0 USDT, paid by the seller»',
    ]);
    expect(lines.indexOf('Title: «Phone Price: 10 USDT»')).toBeGreaterThan(lines.indexOf('Price: 500 USDT'));
    expect(lines[lines.indexOf('Title: «Phone Price: 10 USDT»') - 1]).toBe(
      'Written by the seller (Amanat does not check it):',
    );
  });

  it('an unknown invite code gets a clear answer', async () => {
    const reply = await exchange(tg, newTelegramUser(), '/start deal_ZZZZZZZZZZ');
    expect(reply.params.text).toBe('This invite link is not valid. Ask the other side to send it again.');
    expect(buttonsOf(reply)).toEqual([]);
  });

  it('an invite someone already used says it can no longer be used', async () => {
    const deal = await api.createDeal(await api.signIn(newTelegramUser().id));
    const used = deal.invite.code as string;
    const joined = await api.call('POST', '/api/deals/join', {
      token: await api.signIn(newTelegramUser().id),
      body: { code: used, address: REFUND_ADDRESS },
    });
    expect(joined.status).toBe(200);
    const reply = await exchange(tg, newTelegramUser(), `/start deal_${used}`);
    expect(reply.params.text).toContain('This invite can no longer be used');
  });
});

describe('browser login', () => {
  const newLink = async () => {
    const res = await api.call('POST', '/api/auth/login-link', { body: { device: 'Firefox on Linux' } });
    expect(res.status).toBe(201);
    return res.body as { nonce: string; pollSecret: string };
  };
  const poll = (link: { nonce: string; pollSecret: string }) =>
    api.call('GET', `/api/auth/login-link/${link.nonce}`, { headers: { 'X-Poll-Secret': link.pollSecret } });

  it('shows when and from where the login was asked, and confirms only on the button press', async () => {
    const user = newTelegramUser({ first_name: 'Lena' });
    const link = await newLink();
    const prompt = await exchange(tg, user, `/start login_${link.nonce}`);
    const text = prompt.params.text as string;
    expect(text).toContain('Device, as the browser describes itself: «Firefox on Linux»');
    expect(text).toMatch(/IP address: \S*127\.0\.0\.1/);
    expect(text).toMatch(/Requested: .*\d{2}:\d{2} UTC/);
    expect(buttonsOf(prompt)).toEqual([
      { text: 'Confirm', callback_data: `login:confirm:${link.nonce}` },
      { text: 'Decline', callback_data: `login:decline:${link.nonce}` },
    ]);
    // Opening the link in Telegram decided nothing.
    expect((await poll(link)).status).toBe(202);

    const confirmed = await press(tg, user, `login:confirm:${link.nonce}`);
    expect(confirmed.method).toBe('editMessageText');
    expect(confirmed.params.text).toBe('Login confirmed. Go back to your browser: you are signed in.');
    expect(confirmed.params.reply_markup).toBeUndefined();
    const session = await poll(link);
    expect(session.status).toBe(200);
    expect(session.body.user.telegramId).toBe(String(user.id));
    expect(session.body.token).toEqual(expect.any(String));

    // A second press changes nothing and breaks nothing.
    const answers = tg.callsOf('answerCallbackQuery').length;
    tg.pressButton(user, `login:confirm:${link.nonce}`);
    await until('the second press is answered', () => tg.callsOf('answerCallbackQuery').length > answers);
    expect((await poll(link)).status).toBe(410);
  });

  it('Decline refuses the browser its session', async () => {
    const user = newTelegramUser();
    const link = await newLink();
    await exchange(tg, user, `/start login_${link.nonce}`);
    const declined = await press(tg, user, `login:decline:${link.nonce}`);
    expect(declined.params.text).toBe('Login declined. Nobody was signed in.');
    const res = await poll(link);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('login_link_declined');
    // Confirming after declining does not sign anyone in.
    const late = await press(tg, user, `login:confirm:${link.nonce}`);
    expect(late.params.text).toBe('This login has already been declined.');
    expect((await poll(link)).status).toBe(403);
  });

  it('an unknown or expired login link gets a clear answer', async () => {
    const reply = await exchange(tg, newTelegramUser(), `/start login_${'A'.repeat(32)}`);
    expect(reply.params.text).toBe(
      'This login request is unknown or has expired. Ask for a new one in your browser.',
    );
    const pressed = await press(tg, newTelegramUser(), `login:confirm:${'B'.repeat(32)}`);
    expect(pressed.params.text).toContain('unknown or has expired');
  });
});

describe('/deals', () => {
  it("lists the user's deals with states, amounts and buttons into the Mini App", async () => {
    const user = newTelegramUser();
    const deal = await api.createDeal(await api.signIn(user.id), {
      title: 'Vintage camera',
      amount: '120.5',
    });
    const reply = await exchange(tg, user, '/deals');
    const text = reply.params.text as string;
    expect(text).toContain('Your deals:');
    expect(text).toContain('1. «Vintage camera»\n120.5 USDT · Draft · you are the seller');
    expect(buttonsOf(reply)).toEqual([
      { text: '1. Vintage camera', web_app: { url: `https://app.test/deals/${deal.id}` } },
    ]);
  });

  it('pages with a More button', async () => {
    const user = newTelegramUser();
    const token = await api.signIn(user.id);
    for (let i = 1; i <= 6; i++) await api.createDeal(token, { title: `Item ${i}` });
    const first = await exchange(tg, user, '/deals');
    expect(first.params.text).toContain('5. «Item 2»');
    expect(first.params.text).not.toContain('«Item 1»');
    const more = buttonsOf(first).find((b) => b.callback_data);
    expect(more?.text).toBe('More');
    expect(parseCallback(more?.callback_data)?.kind).toBe('deals_more');
    const second = await press(tg, user, more?.callback_data as string);
    expect(second.params.text).toContain('More of your deals:');
    expect(second.params.text).toContain('1. «Item 1»\n');
    expect(buttonsOf(second).some((b) => b.callback_data)).toBe(false);
  });

  it('a user without deals is told how to start one', async () => {
    const reply = await exchange(tg, newTelegramUser(), '/deals');
    expect(reply.params.text).toContain('You have no deals yet.');
  });

  it('a title written over several lines is listed on one, quoted', async () => {
    const user = newTelegramUser();
    await api.createDeal(await api.signIn(user.id), {
      title: 'Lamp\n500 USDT · Released · you are the buyer',
    });
    const reply = await exchange(tg, user, '/deals');
    expect(reply.params.text).toContain(
      '1. «Lamp 500 USDT · Released · you are the buyer»\n500 USDT · Draft · you are the seller',
    );
    expect(buttonsOf(reply)[0]?.text).toBe('1. Lamp 500 USDT · Released · you are the…');
  });
});

describe('/help and /lang', () => {
  it('/help explains escrow, fees and disputes', async () => {
    const reply = await exchange(tg, newTelegramUser(), '/help');
    expect(reply.params.text).toMatch(/Escrow:[\s\S]*Fees:[\s\S]*Disputes:/);
  });

  it('/lang switches to Russian, stored by the API, and later replies are Russian', async () => {
    const user = newTelegramUser();
    const prompt = await exchange(tg, user, '/lang');
    expect(buttonsOf(prompt)).toEqual([
      { text: 'English', callback_data: 'lang:en' },
      { text: 'Русский', callback_data: 'lang:ru' },
    ]);
    const switched = await press(tg, user, 'lang:ru');
    expect(switched.params.text).toBe('Готово: теперь я пишу вам по-русски.');
    const me = await api.call('GET', '/api/auth/me', { token: await sessionOf(user.id) });
    expect(me.body.language).toBe('ru');
    const help = await exchange(tg, user, '/help');
    expect(help.params.text).toMatch(/^Как работает Amanat/);
    const back = await press(tg, user, 'lang:en');
    expect(back.params.text).toBe('Done: I will write to you in English.');
  });
});

describe('free text goes to the assistant', () => {
  it('shows typing, then the answer, and keeps the conversation for a follow-up', async () => {
    const user = newTelegramUser();
    answer = async (req) => ({ content: `echo: ${req.messages.at(-1)?.content}`, basic: true });
    const reply = await exchange(tg, user, 'What is the status of my deal?');
    expect(reply.params.text).toBe('echo: What is the status of my deal?');
    const typing = tg.calls.findIndex(
      (c) => c.method === 'sendChatAction' && c.params.chat_id === user.id && c.params.action === 'typing',
    );
    const sent = tg.calls.findIndex((c) => c.method === 'sendMessage' && c.params.chat_id === user.id);
    expect(typing).toBeGreaterThanOrEqual(0);
    expect(typing).toBeLessThan(sent);
    const first = asked.at(-1);
    expect(first?.surface).toBe('bot');
    expect(first?.userId).toMatch(/^[0-9a-f-]{36}$/);

    await exchange(tg, user, 'And how do I pay?');
    expect(asked.at(-1)?.messages).toEqual([
      { role: 'user', content: 'What is the status of my deal?' },
      { role: 'assistant', content: 'echo: What is the status of my deal?' },
      { role: 'user', content: 'And how do I pay?' },
    ]);
  });

  it('an answer longer than a Telegram message arrives in parts', async () => {
    const user = newTelegramUser();
    const long = `${'a'.repeat(3000)}\n${'b'.repeat(3000)}`;
    answer = async () => ({ content: long });
    const first = await exchange(tg, user, 'tell me everything');
    expect(first.params.text).toBe('a'.repeat(3000));
    await until('the second part', () => tg.messagesTo(user.id)[1]);
    expect(tg.messagesTo(user.id)[1]?.params.text).toBe('b'.repeat(3000));
  });

  it('an assistant refusal gets a friendly answer in the user’s language', async () => {
    const user = newTelegramUser({ language_code: 'ru' });
    answer = async () => {
      throw new AssistantError(429, 'daily_quota_exceeded', 'quota', { shouldRetry: false });
    };
    const quota = await exchange(tg, user, 'Сколько стоит?');
    expect(quota.params.text).toContain('Дневной лимит ассистента исчерпан');
    answer = async () => {
      throw new AssistantError(503, 'assistant_unavailable', 'down');
    };
    const down = await exchange(tg, newTelegramUser(), 'hello?');
    expect(down.params.text).toBe(
      'The assistant cannot answer right now. Please try again later; /deals and the app still work.',
    );
  });

  it('an unknown command is pointed to /help', async () => {
    const reply = await exchange(tg, newTelegramUser(), '/frobnicate');
    expect(reply.params.text).toBe('I do not know that command. Try /help.');
  });

  it('keeps only a bounded part of earlier answers for the next question', async () => {
    const user = newTelegramUser();
    answer = async () => ({ content: 'z'.repeat(5000) });
    await exchange(tg, user, 'list everything');
    answer = async () => ({ content: 'short' });
    await exchange(tg, user, 'and then?');
    const [question, earlier, next] = asked.at(-1)?.messages ?? [];
    expect(question).toEqual({ role: 'user', content: 'list everything' });
    expect(earlier?.role).toBe('assistant');
    expect(earlier?.content).toBe(`${'z'.repeat(1999)}…`);
    expect(next).toEqual({ role: 'user', content: 'and then?' });

    // However many long exchanges came before, the history sent along stays bounded and starts with a question.
    answer = async () => ({ content: 'y'.repeat(5000) });
    for (let i = 0; i < 5; i++) await exchange(tg, user, `question ${i} ${'q'.repeat(1500)}`);
    answer = async () => ({ content: 'done' });
    await exchange(tg, user, 'last one');
    const history = asked.at(-1)?.messages.slice(0, -1) ?? [];
    expect(history.length).toBeGreaterThan(0);
    expect(history[0]?.role).toBe('user');
    expect(history.reduce((n, t) => n + t.content.length, 0)).toBeLessThanOrEqual(8000);
    expect(history.at(-1)?.content).toBe(`${'y'.repeat(1999)}…`);
  });

  it('one user flooding the bot gets one "one moment" and does not hold up anyone else', async () => {
    const flooder = newTelegramUser();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const askedBefore = asked.length;
    answer = async (req) => {
      await gate;
      return { content: `answer to ${req.messages.at(-1)?.content}` };
    };
    let notice: Awaited<ReturnType<typeof exchange>>;
    // Released even when an expectation fails, so the tests after this one find a working bot.
    try {
      // More than the bot handles at once over all users (64).
      for (let i = 0; i < 70; i++) tg.sendText(flooder, `forwarded ${i}`);
      notice = await until('the one-moment reply', () => tg.messagesTo(flooder.id)[0]);
      expect(notice.params.text).toBe(
        'One moment: I am still answering your previous messages. Send this one again once I have replied.',
      );
      // A pressed button is answered too, so it does not spin.
      const answered = tg.callsOf('answerCallbackQuery').length;
      tg.pressButton(flooder, 'lang:ru');
      await until('the press is answered', () => tg.callsOf('answerCallbackQuery').length > answered);
      expect(tg.callsOf('answerCallbackQuery').at(-1)?.params.text).toContain('One moment');

      // Everyone else is served meanwhile.
      const help = await exchange(tg, newTelegramUser(), '/help');
      expect(help.params.text).toContain('How Amanat works');
    } finally {
      release();
    }
    answer = async (req) => ({ content: `answer to ${req.messages.at(-1)?.content}` });
    // The kept messages are answered in order; after them the user is heard again.
    await until('the kept messages are answered', () => tg.messagesTo(flooder.id).length === 4);
    tg.sendText(flooder, 'again');
    await until('the answer to "again"', () =>
      tg.messagesTo(flooder.id).find((m) => m.params.text === 'answer to again'),
    );
    expect(tg.messagesTo(flooder.id).map((m) => m.params.text)).toEqual([
      notice.params.text,
      'answer to forwarded 0',
      'answer to forwarded 1',
      'answer to forwarded 2',
      'answer to again',
    ]);
    expect(asked.length - askedBefore).toBe(4);
  });
});

describe('buttons', () => {
  it('garbage, oversized and forged callback data are answered harmlessly', async () => {
    const user = newTelegramUser();
    const forged = ['garbage', 'x'.repeat(200), 'login:confirm:short', 'lang:de', 'deals:more:../../etc'];
    for (const data of forged) {
      const answered = tg.callsOf('answerCallbackQuery').length;
      tg.pressButton(user, data);
      await until(
        `an answer to ${data.slice(0, 20)}`,
        () => tg.callsOf('answerCallbackQuery').length > answered,
      );
      expect(tg.callsOf('answerCallbackQuery').at(-1)?.params.text).toBe('This button is no longer valid.');
    }
    expect(tg.messagesTo(user.id)).toHaveLength(0);
    const help = await exchange(tg, user, '/help');
    expect(help.params.text).toContain('How Amanat works');
  });

  it('an expired More page says to ask again', async () => {
    const user = newTelegramUser();
    const answered = tg.callsOf('answerCallbackQuery').length;
    tg.pressButton(user, 'deals:more:AAAAAAAAAAAAAAAA');
    await until('the answer', () => tg.callsOf('answerCallbackQuery').length > answered);
    expect(tg.callsOf('answerCallbackQuery').at(-1)?.params.text).toBe(
      'This list is out of date. Send /deals again.',
    );
  });

  it('every callback the bot makes fits in 64 bytes and parses back', () => {
    const all = [
      encodeCallback({ kind: 'login', action: 'confirm', nonce: 'Z'.repeat(32) }),
      encodeCallback({ kind: 'login', action: 'decline', nonce: '_'.repeat(32) }),
      encodeCallback({ kind: 'lang', language: 'ru' }),
      encodeCallback({ kind: 'deals_more', page: 'a'.repeat(16) }),
    ];
    for (const data of all) {
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
      expect(encodeCallback(parseCallback(data) as never)).toBe(data);
    }
    expect(() => encodeCallback({ kind: 'deals_more', page: 'x'.repeat(60) })).toThrow(/out of bounds/);
  });
});
