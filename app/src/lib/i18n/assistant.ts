import type { Messages } from './locale.svelte.ts';

export const assistantMessages: Messages<
  | 'title'
  | 'intro'
  | 'disabled'
  | 'conversation'
  | 'you'
  | 'assistant'
  | 'empty'
  | 'thinking'
  | 'stopped'
  | 'message'
  | 'send'
  | 'stop'
  | 'clear'
  | 'answering'
  | 'answered'
  | 'offline'
  | 'unreachable'
  | 'signedOut'
  | 'quota'
  | 'rateLimited'
  | 'rateLimitedIn'
  | 'unavailable'
  | 'interrupted'
  | 'refused'
> = {
  en: {
    title: 'Assistant',
    intro: 'Ask about your deals, how to pay, or what happens next. The assistant sees only your own deals.',
    disabled: 'The assistant is not available on this server.',
    conversation: 'Conversation',
    you: 'You',
    assistant: 'Assistant',
    empty: 'No messages yet.',
    thinking: 'Thinking…',
    stopped: 'Stopped before the answer was complete.',
    message: 'Your message',
    send: 'Send',
    stop: 'Stop',
    clear: 'Start over',
    answering: 'The assistant is answering…',
    answered: 'The assistant answered.',
    offline: 'The assistant needs the network. Connect and send again.',
    unreachable: 'The assistant could not be reached. Check your connection and send again.',
    signedOut: 'Your session has ended. Sign in again to use the assistant.',
    quota: 'You have reached today’s assistant limit. It resets at midnight UTC.',
    rateLimited: 'Too many requests. Wait a moment and send again.',
    rateLimitedIn: 'Too many requests. Wait {seconds} s and send again.',
    unavailable: 'The assistant is unavailable right now. Try again later.',
    interrupted: 'The connection dropped before the answer was complete. Send again to retry.',
    refused: 'The assistant could not take this message: {message}',
  },
  ru: {
    title: 'Помощник',
    intro:
      'Спросите о своих сделках, об оплате или о том, что будет дальше. Помощник видит только ваши сделки.',
    disabled: 'Помощник недоступен на этом сервере.',
    conversation: 'Переписка',
    you: 'Вы',
    assistant: 'Помощник',
    empty: 'Сообщений пока нет.',
    thinking: 'Думает…',
    stopped: 'Остановлено до конца ответа.',
    message: 'Ваше сообщение',
    send: 'Отправить',
    stop: 'Остановить',
    clear: 'Начать заново',
    answering: 'Помощник отвечает…',
    answered: 'Помощник ответил.',
    offline: 'Помощнику нужна сеть. Подключитесь и отправьте снова.',
    unreachable: 'Не удалось связаться с помощником. Проверьте соединение и отправьте снова.',
    signedOut: 'Сеанс завершён. Войдите снова, чтобы пользоваться помощником.',
    quota: 'Дневной лимит помощника исчерпан. Он обновится в полночь по UTC.',
    rateLimited: 'Слишком много запросов. Подождите немного и отправьте снова.',
    rateLimitedIn: 'Слишком много запросов. Подождите {seconds} с и отправьте снова.',
    unavailable: 'Помощник сейчас недоступен. Попробуйте позже.',
    interrupted: 'Соединение прервалось до конца ответа. Отправьте снова, чтобы повторить.',
    refused: 'Помощник не смог принять это сообщение: {message}',
  },
};
