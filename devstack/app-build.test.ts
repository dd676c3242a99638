import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_DIR, appBuildIsFresh, ensureAppBuild } from './app-build.ts';

describe('ensureAppBuild', () => {
  it('two callers at once make at most one build, and a fresh build is not made again', async () => {
    const results = await Promise.all([ensureAppBuild(), ensureAppBuild()]);
    expect(results.filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(existsSync(join(APP_DIR, 'build', 'handler.js'))).toBe(true);
    expect(appBuildIsFresh()).toBe(true);
    expect(await ensureAppBuild()).toBe(false);
    expect(existsSync(join(APP_DIR, '..', '.data', 'app-build.lock'))).toBe(false);
  }, 300_000);
});
