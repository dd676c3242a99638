import { LOCALES, localeOf } from '@amanat/core';
import { z } from 'zod';
import type { Caller } from '../http/route.ts';
import type { SessionUser } from './sessions.ts';

export const userViewSchema = z
  .object({
    id: z.uuid(),
    telegramId: z.string().nullable().describe('Decimal string: Telegram ids exceed 2^53 in principle'),
    username: z.string().nullable(),
    displayName: z.string(),
    language: z.enum(LOCALES).describe('The language Amanat writes to this user in'),
    roles: z.array(z.enum(['operator', 'arbitrator'])),
  })
  .meta({ id: 'User' });
export type UserView = z.infer<typeof userViewSchema>;

export const userView = (user: SessionUser, caller?: Pick<Caller, 'operator' | 'arbitrator'>): UserView => ({
  id: user.id,
  telegramId: user.telegramId === null ? null : user.telegramId.toString(),
  username: user.username,
  displayName: user.displayName,
  language: localeOf(user.language),
  roles: [
    ...(caller?.operator ? (['operator'] as const) : []),
    ...(caller?.arbitrator ? (['arbitrator'] as const) : []),
  ],
});

export const sessionViewSchema = z
  .object({ token: z.string(), expiresAt: z.iso.datetime(), user: userViewSchema })
  .meta({ id: 'Session' });
