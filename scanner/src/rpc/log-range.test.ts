import {
  HttpRequestError,
  InvalidInputRpcError,
  LimitExceededRpcError,
  ResponseBodyTooLargeError,
  RpcRequestError,
} from 'viem';
import { describe, expect, it } from 'vitest';
import { AdaptiveLogRange, adviseFromErrorText, providerErrorText } from './log-range.ts';

describe('adviseFromErrorText', () => {
  it.each([
    [
      'query returned more than 10000 results. Try with this block range [0x10, 0x1f].',
      { kind: 'suggested', blocks: 16n },
    ],
    [
      'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x11a9e2f, 0x11aa5a6]',
      { kind: 'suggested', blocks: 0x11aa5a6n - 0x11a9e2fn + 1n },
    ],
    ['exceed maximum block range: 5000', { kind: 'limit', blocks: 5000n }],
    ['eth_getLogs is limited to a 10,000 range', { kind: 'limit', blocks: 10_000n }],
    ['block range too large: maximum range is 1000 blocks', { kind: 'limit', blocks: 1000n }],
    ['ranges over 2K blocks are not supported', { kind: 'limit', blocks: 2000n }],
    ['block range is too large', { kind: 'halve' }],
    ['query returned more than 10000 results', { kind: 'halve' }],
    ['response size exceeded', { kind: 'halve' }],
    ['range 0x1..0x2000 exceeds limit', { kind: 'halve' }],
    ['internal error', { kind: 'halve' }],
  ])('%s', (text, advice) => {
    expect(adviseFromErrorText(text)).toEqual(advice);
  });
});

describe('providerErrorText', () => {
  it("reads the provider's message, not viem's request dump with its hex block numbers and topics", () => {
    const body = {
      method: 'eth_getLogs',
      params: [{ fromBlock: '0x1', toBlock: '0x7d0', topics: ['0xdd', null, ['0x00aa', '0x00bb']] }],
    };
    const err = new LimitExceededRpcError(
      new RpcRequestError({
        body,
        url: 'http://x',
        error: { code: -32005, message: 'block range is too large' },
      }),
    );
    expect(err.message).toContain('0x7d0'); // what a naive parser would have read
    const text = providerErrorText(err);
    expect(text).toContain('block range is too large');
    expect(text).not.toContain('0x7d0');
    expect(adviseFromErrorText(text)).toEqual({ kind: 'halve' });
  });

  it('reads suggestions carried in the error data and names an oversized body', () => {
    const withData = new InvalidInputRpcError(
      new RpcRequestError({
        body: {},
        url: 'http://x',
        error: {
          code: -32000,
          message: 'too many logs',
          data: { message: 'try with this block range [0x5, 0x9]' },
        },
      }),
    );
    expect(adviseFromErrorText(providerErrorText(withData))).toEqual({ kind: 'suggested', blocks: 5n });

    const tooLarge = new HttpRequestError({
      url: 'http://x',
      cause: new ResponseBodyTooLargeError({ maxSize: 10, size: 20 }),
    });
    expect(providerErrorText(tooLarge)).toContain('response size exceeded');
  });
});

describe('AdaptiveLogRange', () => {
  it('jumps to a suggested range and halves on failures without advice, down to 1 block', () => {
    const range = new AdaptiveLogRange({ max: 2000n });
    expect(range.failed(2000n, { kind: 'suggested', blocks: 300n })).toBe(300n);
    expect(range.failed(300n, { kind: 'halve' })).toBe(150n);
    // A suggestion no smaller than what failed is no help: halve instead.
    expect(range.failed(150n, { kind: 'suggested', blocks: 500n })).toBe(75n);
    for (let i = 0; i < 10; i++) range.failed(range.current, { kind: 'halve' });
    expect(range.current).toBe(1n);
  });

  it('grows back by half after a run of full-width successes, up to the maximum', () => {
    const range = new AdaptiveLogRange({ max: 100n, growAfter: 3 });
    range.failed(100n, { kind: 'halve' });
    range.failed(50n, { kind: 'halve' });
    expect(range.current).toBe(25n);
    range.succeeded(25n, 10);
    range.succeeded(25n, 10);
    expect(range.current).toBe(25n);
    range.succeeded(25n, 10);
    expect(range.current).toBe(38n);
    // A short tail of a range is not evidence the full width works.
    for (let i = 0; i < 5; i++) range.succeeded(3n, 10);
    expect(range.current).toBe(38n);
    for (let i = 0; i < 30; i++) range.succeeded(range.current, 10);
    expect(range.current).toBe(100n);
  });

  it('goes back to the width that worked when a probe above it fails', () => {
    const range = new AdaptiveLogRange({ max: 1000n, growAfter: 1 });
    range.failed(1000n, { kind: 'suggested', blocks: 40n });
    range.succeeded(40n, 1);
    expect(range.current).toBe(60n);
    expect(range.failed(60n, { kind: 'halve' })).toBe(40n);
    // The width that worked failing too means conditions changed: halve from there.
    expect(range.failed(40n, { kind: 'halve' })).toBe(20n);
  });

  it('never grows past a cap the provider named', () => {
    const range = new AdaptiveLogRange({ max: 2000n, growAfter: 1 });
    expect(range.failed(2000n, { kind: 'limit', blocks: 500n })).toBe(500n);
    for (let i = 0; i < 10; i++) range.succeeded(range.current, 1);
    expect(range.current).toBe(500n);
  });

  it('shrinks after a heavy response, aiming at the target log count', () => {
    const range = new AdaptiveLogRange({ max: 2000n, heavyLogs: 5_000, targetLogs: 2_500 });
    range.succeeded(2000n, 20_000);
    expect(range.current).toBe(250n);
    range.succeeded(250n, 4_000);
    expect(range.current).toBe(250n);
  });
});
