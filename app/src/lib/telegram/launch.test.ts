import { describe, expect, it } from 'vitest';
import {
  findLaunchQuery,
  initDataOf,
  initDataUserId,
  inTelegramClient,
  LAUNCH_STORAGE_KEY,
  launchQueryOf,
  startParamOf,
} from './launch.ts';

const initData = 'auth_date=1700000000&user=%7B%22id%22%3A42%7D&hash=abc';
const query = new URLSearchParams({
  tgWebAppData: initData,
  tgWebAppVersion: '8.0',
  tgWebAppPlatform: 'ios',
  tgWebAppStartParam: 'deal_ABCDEFGH23',
}).toString();

const storageOf = (entries: Record<string, string>) => ({ getItem: (key: string) => entries[key] ?? null });

describe('findLaunchQuery', () => {
  it('reads the parameters Telegram appends to the hash', () => {
    expect(findLaunchQuery(`https://app.example/#${query}`, null)).toBe(query);
  });

  it('reads them from the query string too, merged with the hash', () => {
    const found = findLaunchQuery(`https://app.example/join?${query}#section`, null);
    expect(startParamOf(found ?? '')).toBe('deal_ABCDEFGH23');
  });

  it('finds nothing in an ordinary browser visit', () => {
    expect(findLaunchQuery('https://app.example/deals/1?tab=activity#top', storageOf({}))).toBeNull();
  });

  it('needs the platform and the version, not a stray parameter', () => {
    expect(findLaunchQuery('https://app.example/#tgWebAppData=x', null)).toBeNull();
  });

  it('falls back to what this session saved once the router dropped the hash', () => {
    expect(findLaunchQuery('https://app.example/deals/1', storageOf({ [LAUNCH_STORAGE_KEY]: query }))).toBe(
      query,
    );
  });

  it('also accepts the SDK’s own saved copy (a JSON string)', () => {
    const storage = storageOf({ 'tapps/launchParams': JSON.stringify(query) });
    expect(findLaunchQuery('https://app.example/', storage)).toBe(query);
  });

  it('prefers fresh parameters in the URL over saved ones', () => {
    const older = query.replace('deal_ABCDEFGH23', 'deal_ZZZZZZZZZZ');
    const storage = storageOf({ [LAUNCH_STORAGE_KEY]: older });
    expect(startParamOf(findLaunchQuery(`https://app.example/#${query}`, storage) ?? '')).toBe(
      'deal_ABCDEFGH23',
    );
  });

  it('treats unreadable storage as empty', () => {
    const storage = {
      getItem: () => {
        throw new Error('denied');
      },
    };
    expect(findLaunchQuery('https://app.example/', storage)).toBeNull();
  });
});

describe('launch values', () => {
  it('keeps the init data exactly as signed', () => {
    expect(initDataOf(query)).toBe(initData);
    expect(launchQueryOf(`https://x/#${query}`)).toBe(query);
  });

  it('has no start parameter when Telegram sent none', () => {
    expect(startParamOf('tgWebAppVersion=8.0&tgWebAppPlatform=ios')).toBeNull();
  });

  it('reads the user id without rounding ids beyond 2^53', () => {
    const big = `user=${encodeURIComponent('{"id":9007199254740993,"first_name":"A"}')}&hash=x`;
    expect(initDataUserId(big)).toBe('9007199254740993');
    expect(initDataUserId('auth_date=1')).toBeNull();
  });
});

describe('inTelegramClient', () => {
  it('recognises Telegram’s WebView by its injected proxy', () => {
    const win = { TelegramWebviewProxy: { postEvent() {} } } as unknown as Window;
    expect(inTelegramClient(win)).toBe(true);
  });

  it('recognises a frame (Telegram’s web clients)', () => {
    const win = { self: {}, top: {} } as unknown as Window;
    expect(inTelegramClient(win)).toBe(true);
  });

  it('says no for a top-level browser tab', () => {
    expect(inTelegramClient(window)).toBe(false);
  });
});
