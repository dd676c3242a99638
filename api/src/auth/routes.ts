import {
  devSessionSchema,
  devSignInBody,
  languageBody,
  sessionViewSchema,
  telegramLoginBody,
  userViewSchema,
} from '@amanat/core/api';
import { getUser, setTelegramReachable, setUserLanguage } from '@amanat/platform';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../http/problem.ts';
import { defineRoute, type RouteDef } from '../http/route.ts';
import { callerFor, userFromTelegram } from './authenticate.ts';
import { signInitData, telegramUserSchema, validateInitData } from './telegram-init-data.ts';
import { userView } from './user-view.ts';

/** Issues a session for a user and answers with it; every sign-in path ends here. */
export async function issueSession(ctx: ApiContext, userId: string, via: 'telegram' | 'login_link' | 'dev') {
  const user = await getUser(ctx.pool, userId);
  if (!user) throw new ApiError(401, 'session_invalid', 'The user no longer exists');
  const { token, expiresAt } = await ctx.sessions.create(user, via);
  return {
    token,
    expiresAt: expiresAt.toISOString(),
    user: userView(user, callerFor(user, ctx.staff, null)),
  };
}

export function authRoutes(ctx: ApiContext): RouteDef[] {
  const routes: RouteDef[] = [
    defineRoute({
      method: 'post',
      path: '/api/auth/telegram',
      operationId: 'signInWithTelegram',
      summary: 'Sign in with Telegram Mini App init data',
      description:
        'Checks the init data (HMAC-SHA256 keyed with HMAC-SHA256("WebAppData", bot token), constant-time, ' +
        `auth_date at most TELEGRAM_AUTH_MAX_AGE seconds old) and returns a session token. 401 codes: ` +
        'init_data_malformed, init_data_signature_invalid, init_data_expired.',
      tag: 'auth',
      auth: 'public',
      body: telegramLoginBody,
      response: sessionViewSchema,
      errors: [401],
      handler: async ({ body }) => {
        const valid = validateInitData(body.initData, {
          secretKey: ctx.telegramSecretKey,
          maxAgeSec: ctx.config.TELEGRAM_AUTH_MAX_AGE,
        });
        const user = await userFromTelegram(ctx.pool, valid.user, ctx.config.STORAGE_MODE);
        return issueSession(ctx, user.id, 'telegram');
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/auth/me',
      operationId: 'me',
      summary: 'The signed-in user and their roles',
      tag: 'auth',
      auth: 'user',
      response: userViewSchema,
      // Read fresh rather than from the session, which keeps the profile as it was at sign-in.
      handler: async ({ caller }) =>
        userView((await getUser(ctx.pool, caller.user.id)) ?? caller.user, caller),
    }),
    defineRoute({
      method: 'patch',
      path: '/api/auth/me',
      operationId: 'updateMe',
      summary: "Change the signed-in user's settings (the language Amanat writes in)",
      tag: 'auth',
      auth: 'user',
      body: languageBody,
      response: userViewSchema,
      handler: async ({ body, caller }) => {
        const user = await setUserLanguage(ctx.pool, caller.user.id, body.language, {
          storageMode: ctx.config.STORAGE_MODE,
        });
        if (!user) throw new ApiError(401, 'session_invalid', 'The user no longer exists');
        return userView(user, caller);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/internal/telegram-users',
      operationId: 'registerTelegramUser',
      summary: 'A Telegram user wrote to the bot: create or refresh them (assist only)',
      description:
        'The bot registers each user it hears from before acting for them with an `Assist` credential. ' +
        'Writing to the bot also means Telegram can reach them again, after an earlier block.',
      tag: 'internal',
      auth: 'service',
      body: z.strictObject({ telegramUser: telegramUserSchema }),
      response: userViewSchema,
      errors: [401],
      handler: async ({ body }) => {
        const user = await userFromTelegram(ctx.pool, body.telegramUser, ctx.config.STORAGE_MODE);
        await setTelegramReachable(ctx.pool, user.id, true);
        return userView(user, callerFor(user, ctx.staff, null));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/auth/logout',
      operationId: 'logout',
      summary: 'Revoke the session this request carries',
      tag: 'auth',
      auth: 'user',
      status: 204,
      response: z.null(),
      handler: async ({ caller }) => {
        if (caller.sessionId) await ctx.sessions.revoke(caller.sessionId, caller.user.id);
        return null;
      },
    }),
  ];
  // Development only: signs init data with the configured (development) bot token and goes through the
  // same check as real init data. Configuration refuses DEV_SIGN_IN in production; this is the second lock.
  if (ctx.config.DEV_SIGN_IN && ctx.config.NODE_ENV !== 'production') {
    routes.push(
      defineRoute({
        method: 'post',
        path: '/api/auth/dev',
        operationId: 'devSignIn',
        summary: 'Development sign-in as any Telegram user (only when DEV_SIGN_IN=true, never in production)',
        tag: 'auth',
        auth: 'public',
        body: devSignInBody,
        response: devSessionSchema,
        handler: async ({ body }) => {
          const initData = signInitData(
            {
              auth_date: String(Math.floor(Date.now() / 1000)),
              user: JSON.stringify({
                id: body.telegramId,
                first_name: body.firstName,
                ...(body.username ? { username: body.username } : {}),
              }),
            },
            ctx.telegramSecretKey,
          );
          const valid = validateInitData(initData, {
            secretKey: ctx.telegramSecretKey,
            maxAgeSec: ctx.config.TELEGRAM_AUTH_MAX_AGE,
          });
          const user = await userFromTelegram(ctx.pool, valid.user, ctx.config.STORAGE_MODE);
          return { ...(await issueSession(ctx, user.id, 'dev')), initData };
        },
      }),
    );
  }
  return routes;
}
