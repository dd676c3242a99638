import { BOT_TEXT, flattenUserText } from '@amanat/core';
import { describe, expect, it } from 'vitest';

// The bot's texts around user-written words: what a deal's creator or a browser wrote must not pass for
// what Amanat states.

const preview = (over: Partial<Parameters<typeof BOT_TEXT.invitePreview>[0]> = {}) =>
  BOT_TEXT.invitePreview({
    title: 'Road bike',
    description: 'Blue',
    creatorName: 'Sam',
    creatorRole: 'seller',
    openRole: 'buyer',
    price: '500',
    amountDue: '500',
    fee: '5',
    symbol: 'USDT',
    feePayer: 'seller',
    yourRole: null,
    ...over,
  });

describe('flattenUserText', () => {
  it('puts text on one line, drops bidi controls, neutralises guillemets and clips by code point', () => {
    expect(flattenUserText('a\nb\r\n\tc\u2028d\u2029e\u0085f', 50)).toBe('a b c d e f');
    expect(flattenUserText('\u202eevil\u2066 text\u2069', 50)).toBe('evil text');
    expect(flattenUserText('bike» Price: 1 «x', 50)).toBe('bike" Price: 1 "x');
    expect(flattenUserText('  spaced   out  ', 50)).toBe('spaced out');
    expect(flattenUserText('😀😀😀😀', 3)).toBe('😀😀…');
    expect(flattenUserText('x'.repeat(10), 10)).toBe('x'.repeat(10));
  });
});

describe('the invite preview', () => {
  it('states the terms before the creator’s words, which are quoted, labelled and on one line each', () => {
    for (const locale of ['en', 'ru'] as const) {
      const text = preview({
        title: 'Bike\nPrice: 1 USDT',
        description: 'Great bike\n\nPrice: 10 USDT\nThe buyer pays: 10 USDT\nFee: 0 USDT',
        creatorName: 'Sam\nPrice: 2 USDT',
      })[locale];
      const lines = text.split('\n');
      const terms = locale === 'en' ? /^(Price|The buyer pays|Fee):/ : /^(Цена|Покупатель платит|Комиссия):/;
      // Only the server's terms start a line, and they come before anything the creator wrote.
      expect(lines.filter((l) => terms.test(l))).toEqual(
        locale === 'en'
          ? ['Price: 500 USDT', 'The buyer pays: 500 USDT', 'Fee: 5 USDT, paid by the seller']
          : ['Цена: 500 USDT', 'Покупатель платит: 500 USDT', 'Комиссия: 5 USDT, платит продавец'],
      );
      const title = locale === 'en' ? 'Title: «Bike Price: 1 USDT»' : 'Название: «Bike Price: 1 USDT»';
      const description =
        locale === 'en'
          ? 'Description: «Great bike Price: 10 USDT The buyer pays: 10 USDT Fee: 0 USDT»'
          : 'Описание: «Great bike Price: 10 USDT The buyer pays: 10 USDT Fee: 0 USDT»';
      expect(lines).toContain(title);
      expect(lines).toContain(description);
      expect(lines.indexOf(title)).toBeGreaterThan(lines.findIndex((l) => terms.test(l)));
      expect(lines[0]).toMatch(/^«Sam Price: 2 USDT» /);
    }
    expect(preview().en).toContain('Written by the seller (Amanat does not check it):\nTitle: «Road bike»');
    expect(preview().ru).toContain('Написано продавцом (Amanat это не проверяет):\nНазвание: «Road bike»');
  });

  it('clips a long description and leaves out an empty one', () => {
    const long = preview({ description: 'word '.repeat(200) }).en;
    const line = long.split('\n').find((l) => l.startsWith('Description: ')) as string;
    expect(line.length).toBeLessThanOrEqual('Description: «»'.length + 300);
    expect(line).toMatch(/…»$/);
    expect(preview({ description: ' \n ' }).en).not.toContain('Description');
  });
});

describe('other user-written text', () => {
  it('a deal line quotes the title on its own line; the login prompt quotes the device', () => {
    expect(
      BOT_TEXT.dealLine({
        title: 'Camera\n100 USDT · Released · you are the buyer',
        amount: '5',
        symbol: 'USDT',
        state: 'Draft',
        yourRole: 'seller',
      }).en,
    ).toBe('«Camera 100 USDT · Released · you are the buyer»\n5 USDT · Draft · you are the seller');
    const prompt = BOT_TEXT.loginPrompt({
      requestedAt: 'now',
      device: 'Firefox\nThis is your own login, press Confirm',
      ip: '127.0.0.1',
    }).en;
    expect(prompt).toContain(
      'IP address: 127.0.0.1\nDevice, as the browser describes itself: «Firefox This is your own login, press Confirm»\n',
    );
    expect(BOT_TEXT.greeting('Ann\n\nAmanat: send money').en).toMatch(/^Hello, Ann Amanat: send money!\n/);
  });
});
