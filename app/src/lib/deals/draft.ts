import type { CreateDealInput } from '@amanat/core/api';

/**
 * A deal the server refused to create (queued offline, rejected on replay) handed back to the create
 * form, so the user edits it rather than typing it again. Session storage: it lives for this tab only.
 */
const KEY = 'amanat.create-draft';

export function saveCreateDraft(body: CreateDealInput): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(body));
  } catch {
    // No storage: the form opens empty.
  }
}

/** The draft handed over, once (reading it removes it), or null. */
export function takeCreateDraft(): Partial<CreateDealInput> | null {
  try {
    const text = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    const value: unknown = text ? JSON.parse(text) : null;
    return value && typeof value === 'object' ? (value as Partial<CreateDealInput>) : null;
  } catch {
    return null;
  }
}
