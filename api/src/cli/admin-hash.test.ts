import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyAdminPassword } from '../admin/basic-auth.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const node = `${root}node_modules/.bin/node`;
const script = fileURLToPath(new URL('./admin-hash.ts', import.meta.url));

/** Runs `npm run admin:hash`'s script with the given standard input (a pipe, not a terminal). */
function run(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [script], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('npm run admin:hash', () => {
  it('prints a hash of the piped password that verifies, and nothing else on stdout', async () => {
    const password = 'a long enough break-glass passphrase';
    const res = await run(`${password}\n`);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const hash = lines[0] as string;
    expect(hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}$/);
    expect(await verifyAdminPassword(password, hash)).toBe(true);
    // The line break from `echo` is not part of the password.
    expect(await verifyAdminPassword(`${password}\n`, hash)).toBe(false);
    expect(res.stderr).toContain('ADMIN_PASSWORD_HASH');
  });

  it('refuses a short password with exit code 1 and says what to fix', async () => {
    const res = await run('hunter2\n');
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/has 7 characters; use at least 12/);
  });

  it('refuses an empty input', async () => {
    const res = await run('');
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/the password is empty/);
  });
});
