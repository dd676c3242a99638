import { z } from 'zod';

/**
 * Text a person typed (titles, reasons, notes): trimmed, bounded, and free of NUL characters (which
 * PostgreSQL text refuses) and unpaired surrogates (which it would silently replace).
 */
export const personText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine(
      (s) => !s.includes('\u0000') && s.isWellFormed(),
      'must be plain text: no NUL characters or broken Unicode',
    );
