import { isApiError, isNetworkError } from '#lib/api/errors.ts';
import { errorMessages } from '#lib/i18n/deals.ts';
import { translator } from '#lib/i18n/locale.svelte.ts';

const t = translator(errorMessages);

type Code = keyof typeof errorMessages.en;
// Own keys only: `in` would also match "constructor" and the other Object.prototype names.
const isKnown = (code: string): code is Code => Object.hasOwn(errorMessages.en, code);

/** An API error code as a sentence: known codes translated, otherwise the API's own words. */
export const explainCode = (code: string, fallback: string): string => (isKnown(code) ? t(code) : fallback);

/** A failed call as a sentence for the user: known codes translated, otherwise the API's own words. */
export function explainError(err: unknown): string {
  if (isNetworkError(err)) return t('offline');
  if (isApiError(err)) return explainCode(err.code, err.message);
  return err instanceof Error ? err.message : String(err);
}

/** The API's per-field complaints (400 validation_failed), keyed by the body path ("asset.chainId"). */
export function apiFieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isApiError(err)) return out;
  for (const f of err.fields) if (f.in === 'body' && !out[f.path]) out[f.path] = f.message;
  return out;
}
