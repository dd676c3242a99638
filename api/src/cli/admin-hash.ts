/**
 * `npm run admin:hash`: turns the break-glass password for bull-board into the ADMIN_PASSWORD_HASH
 * value. Reads the password from standard input (`printf '%s' "$PW" | npm run admin:hash`), or asks
 * for it twice without echo when run in a terminal. Prints only the hash on standard output.
 * Exit codes: 0 printed, 1 the password was refused or the two entries differed.
 */
import { adminPasswordProblem, hashAdminPassword } from '../admin/basic-auth.ts';

function fail(message: string): never {
  console.error(`admin:hash: ${message}`);
  process.exit(1);
}

async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // `echo` adds one line break; the password is everything before it.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let typed = '';
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(typed);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

let password: string;
if (process.stdin.isTTY) {
  password = await promptHidden('Break-glass password for bull-board: ');
  const problem = adminPasswordProblem(password);
  if (problem) fail(`${problem}. Run again and type a longer one.`);
  if ((await promptHidden('Repeat it: ')) !== password) fail('the two entries differ; run again.');
} else {
  password = await readPiped();
  const problem = adminPasswordProblem(password);
  if (problem) {
    fail(`${problem}. Pipe the password in, e.g. printf '%s' "$PASSWORD" | npm run admin:hash`);
  }
}

const hash = await hashAdminPassword(password);
console.log(hash);
console.error(
  'admin:hash: set ADMIN_PASSWORD_HASH to the line above and ADMIN_USER to the user name. The hash ' +
    "contains '$': single-quote it in a shell or .env file, and write each $ as $$ in docker-compose.yml.",
);
