import { z } from 'zod';
import { ApiError } from './problem.ts';

/** A keyset position in a newest-first listing: stable while rows change, unlike an offset. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export const encodeCursor = (c: Cursor): string =>
  Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');

/** The instant as encodeCursor writes it; other spellings (such as years PostgreSQL cannot hold) are refused. */
const CURSOR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function decodeCursor(text: string): Cursor {
  const [at, id] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (
    !id ||
    !z.uuid().safeParse(id).success ||
    !CURSOR_INSTANT.test(at ?? '') ||
    Number.isNaN(createdAt.getTime())
  ) {
    throw new ApiError(400, 'cursor_invalid', 'The cursor is not one this API gave out');
  }
  return { createdAt, id };
}
