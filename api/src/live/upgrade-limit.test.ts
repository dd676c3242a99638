import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApi, type TestApi } from '../testing.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({ RATE_LIMIT_IP_PER_MIN: '3' });
});
afterAll(() => t?.close());

/** Opens a WebSocket and reports the HTTP status of the upgrade (101 when it opened). */
function upgradeStatus(): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/api/ws`);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

describe('WebSocket upgrades', () => {
  it('count against the per-IP limit like any request', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await upgradeStatus());
    expect(statuses).toEqual([101, 101, 101, 429]);
  });
});
