import { isDomainError } from '@amanat/core';

/**
 * Runs a process's start-up checks (configuration, keys, registry). A mistake there is reported as the
 * one message that names what to fix, and the process exits 1; it never surfaces as a stack trace.
 */
export function startupOrExit<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (isDomainError(err)) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
