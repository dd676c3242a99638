import { localeOf } from '@amanat/core';
import type { User } from '@amanat/core/api';
import type { Caller } from '../http/route.ts';
import type { SessionUser } from './sessions.ts';

export const userView = (user: SessionUser, caller?: Pick<Caller, 'operator' | 'arbitrator'>): User => ({
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
