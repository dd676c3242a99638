// bench:assist's Bot API double in a process of its own, so serving Telegram's side costs the workers under
// test no CPU (Telegram is another machine). The parent drives it over IPC: latency, counts, samples.
import { z } from 'zod';
import { startTelegramDouble } from '../devstack/telegram-double.ts';

export const telegramCommandSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('latency'), ms: z.number().int().nonnegative() }),
  /** Forgets every call so far: each round counts from zero. */
  z.object({ kind: z.literal('reset') }),
  z.object({ kind: z.literal('stats') }),
  z.object({ kind: z.literal('sample'), count: z.number().int().positive() }),
]);
export type TelegramCommand = z.infer<typeof telegramCommandSchema>;

export interface TelegramStats {
  /** Successful sendMessage calls since the last reset. */
  sent: number;
  /** Failed calls of any method since the last reset. */
  failed: number;
  /** When the last successful sendMessage was answered (epoch ms), or 0. */
  lastAt: number;
}

/** What a sendMessage carried: enough for another client to make the same call. */
export interface SentMessage {
  chatId: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters, passed on as they came
  extra: Record<string, any>;
}

export type TelegramReply =
  | { kind: 'ready'; apiRoot: string; token: string }
  | { kind: 'ok' }
  | { kind: 'stats'; stats: TelegramStats }
  | { kind: 'sample'; messages: SentMessage[] };

if (process.send) {
  const double = await startTelegramDouble();
  const send = (reply: TelegramReply) => process.send?.(reply);
  process.on('message', (raw) => {
    const cmd = telegramCommandSchema.parse(raw);
    if (cmd.kind === 'latency') {
      double.setLatency(cmd.ms);
      send({ kind: 'ok' });
    } else if (cmd.kind === 'reset') {
      double.calls.length = 0;
      send({ kind: 'ok' });
    } else if (cmd.kind === 'stats') {
      let sent = 0;
      let failed = 0;
      let lastAt = 0;
      for (const c of double.calls) {
        if (c.failed) failed++;
        else if (c.method === 'sendMessage') {
          sent++;
          lastAt = Math.max(lastAt, c.at);
        }
      }
      send({ kind: 'stats', stats: { sent, failed, lastAt } });
    } else {
      const messages = double
        .callsOf('sendMessage')
        .slice(-cmd.count)
        .map(({ params: { chat_id, text, ...extra } }) => ({ chatId: Number(chat_id), text, extra }));
      send({ kind: 'sample', messages });
    }
  });
  process.on('SIGTERM', () => {
    void double.close().finally(() => process.exit(0));
  });
  send({ kind: 'ready', apiRoot: double.apiRoot, token: double.token });
}
