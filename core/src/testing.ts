import { DomainError } from './errors.ts';

/** The DomainError a call throws; fails the test if it throws nothing or something else. For tests. */
export function rejection(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

/** The stable code of the DomainError a call throws. For tests. */
export const codeOf = (run: () => unknown): string => rejection(run).code;
