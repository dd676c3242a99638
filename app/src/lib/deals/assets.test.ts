import { afterEach, describe, expect, it, vi } from 'vitest';

const { loadAssets } = await import('./assets.ts');
const { putRead } = await import('#lib/offline/db.ts');

const list = (name: string) => ({
  chains: [{ chainId: 1, name, nativeSymbol: 'ETH', confirmations: 12, explorerUrl: null, tokens: [] }],
  feeBps: 150,
});

afterEach(() => vi.unstubAllGlobals());

describe('loadAssets', () => {
  it('reads the network once, but asks again after an answer that came only from the device’s copy', async () => {
    await putRead('assets', list('Saved'), null, 1000);
    let online = false;
    const fetch = vi.fn(async () => {
      if (!online) throw new TypeError('Failed to fetch');
      return new Response(JSON.stringify(list('Fresh')), { headers: { 'content-type': 'application/json' } });
    });
    vi.stubGlobal('fetch', fetch);

    const first = await loadAssets();
    expect(first).toMatchObject({ fromCache: true, data: { chains: [{ name: 'Saved' }] } });

    online = true;
    const second = await loadAssets();
    expect(second).toMatchObject({ fromCache: false, data: { chains: [{ name: 'Fresh' }] } });

    const calls = fetch.mock.calls.length;
    expect(await loadAssets()).toBe(second);
    expect(fetch.mock.calls.length).toBe(calls);
  });
});
