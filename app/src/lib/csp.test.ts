import { describe, expect, it } from 'vitest';
import { connectSources } from './csp.ts';

describe('connectSources', () => {
  it('lists each origin with its WebSocket twin, once, and skips unset ones', () => {
    expect(
      connectSources([
        'https://api.example.com/base',
        undefined,
        'http://127.0.0.1:8080',
        'https://api.example.com',
      ]),
    ).toBe('https://api.example.com wss://api.example.com http://127.0.0.1:8080 ws://127.0.0.1:8080');
  });
});
