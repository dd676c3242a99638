// `npm run demo:release -- <dealId>`: with `npm start` running, the buyer of a funded local deal confirms
// receipt (through the API's development sign-in, as the app would), and the payout signer pays the
// seller on the local chain. Waits until the deal is released and shows the seller's balance arriving.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, formatAmount } from '@amanat/core';
import { createPool, getDealWithPayments, type Pool } from '@amanat/platform';
import { type Address, createPublicClient, defineChain, erc20Abi, http } from 'viem';
import { RUNNING_FILE, runningSchema } from './running.ts';

const root = join(import.meta.dirname, '..');
const dataDir = process.env.DATA_DIR ? join(root, process.env.DATA_DIR) : join(root, '.data');
const log = (message: string) => console.log(`[demo:release] ${message}`);
const fail = (message: string): never => {
  console.error(`[demo:release] ${message}`);
  process.exit(1);
};

async function telegramIdOf(pool: Pool, userId: string): Promise<number> {
  const { rows } = await pool.query('SELECT telegram_id::text AS id FROM users WHERE id = $1', [userId]);
  const id = rows[0]?.id as string | undefined;
  return id ? Number(id) : fail('the buyer has no Telegram id: this demo signs in through Telegram ids');
}

/** The buyer confirms receipt over the API, as the app's Confirm receipt button does. */
async function confirmAsBuyer(apiUrl: string, dealId: string, telegramId: number): Promise<void> {
  const signIn = await fetch(`${apiUrl}/api/auth/dev`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ telegramId }),
  });
  if (!signIn.ok)
    fail(`development sign-in refused (${signIn.status}): is this the stack \`npm start\` runs?`);
  const { token } = (await signIn.json()) as { token: string };
  const res = await fetch(`${apiUrl}/api/deals/${dealId}/confirm`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': randomUUID(),
    },
    body: '{}',
  });
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
    fail(`the API refused to confirm receipt: ${problem.code ?? res.status} ${problem.detail ?? ''}`);
  }
  log('the buyer confirmed receipt: the deal is releasing');
}

async function main() {
  const [dealId] = process.argv.slice(2);
  if (!dealId || !/^[0-9a-f-]{36}$/i.test(dealId)) fail('usage: npm run demo:release -- <dealId>');
  const file = join(dataDir, RUNNING_FILE);
  if (!existsSync(file)) fail(`${file} not found: start the system with \`npm start\` first.`);
  const running = runningSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const pool = createPool({ connectionString: running.databaseUrl, schema: running.databaseSchema, max: 2 });
  try {
    const deal = (await getDealWithPayments(pool, dealId as string)) ?? fail(`no deal ${dealId}`);
    const seller =
      (deal.seller?.address as Address | undefined) ?? fail('the seller has given no payout address');
    const registry = createRegistry({ rpcUrls: running.rpcUrls });
    const token = registry.requireToken(deal.asset);
    const rpcUrl =
      registry.chain(deal.asset.chainId)?.rpcUrls[0] ?? fail('the deal is not on the local chain');
    const chain = createPublicClient({
      chain: defineChain({
        id: deal.asset.chainId,
        name: 'local',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [rpcUrl] } },
      }),
      transport: http(rpcUrl),
    });
    const balance = () =>
      deal.asset.token === 'native'
        ? chain.getBalance({ address: seller })
        : chain.readContract({
            address: deal.asset.token as Address,
            abi: erc20Abi,
            functionName: 'balanceOf',
            args: [seller],
          });
    const show = (units: bigint) => `${formatAmount(units, token.decimals)} ${token.symbol}`;
    const before = await balance();
    log(`seller ${seller} holds ${show(before)}`);

    if (deal.state === 'funded' || deal.state === 'delivered') {
      const buyer = deal.buyer?.userId ?? fail('the deal has no buyer');
      await confirmAsBuyer(running.apiUrl, dealId as string, await telegramIdOf(pool, buyer));
    } else if (deal.state !== 'releasing') {
      fail(`deal ${dealId} is ${deal.state}: pay it first (npm run demo:pay -- ${dealId})`);
    }

    // The payout signer tops up the deposit address's gas, pays the seller and the fee, and waits for
    // the chain's confirmations; then the deal is released.
    const deadline = Date.now() + 180_000;
    for (;;) {
      const now = (await getDealWithPayments(pool, dealId as string)) ?? fail('the deal disappeared');
      if (now.state === 'released') break;
      if (now.needsReview) fail(`the deal is flagged for review: ${now.reviewReasons.join(', ')}`);
      if (Date.now() > deadline)
        fail('not released within 3 minutes: are the workers (payouts role) running?');
      await new Promise((r) => setTimeout(r, 500));
    }
    const { rows } = await pool.query(
      `SELECT kind, amount::text AS amount, tx_hash FROM payout_legs WHERE deal_id = $1 ORDER BY id`,
      [dealId],
    );
    for (const leg of rows) log(`paid ${leg.kind}: ${show(BigInt(leg.amount))} in ${leg.tx_hash}`);
    const after = await balance();
    log(`deal ${dealId}: released; seller ${seller} now holds ${show(after)} (+${show(after - before)})`);
  } finally {
    await pool.end();
  }
}

await main();
