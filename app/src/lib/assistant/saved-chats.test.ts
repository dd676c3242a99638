import { afterEach, describe, expect, it } from 'vitest';
import { clearSavedChats } from './saved-chats.ts';

afterEach(() => sessionStorage.clear());

describe('clearSavedChats', () => {
  it('erases every saved conversation from session storage and nothing else', () => {
    sessionStorage.setItem('amanat.assistant', '[]');
    sessionStorage.setItem('amanat.assistant.user-a', '[{"role":"user","content":"deal 42"}]');
    sessionStorage.setItem('amanat.assistant.user-b', '[]');
    sessionStorage.setItem('amanat.launch', 'tgWebAppData=x');
    clearSavedChats();
    expect(Object.keys(sessionStorage)).toEqual(['amanat.launch']);
  });

  it('does nothing without storage', () => {
    expect(() => clearSavedChats(null)).not.toThrow();
  });
});
