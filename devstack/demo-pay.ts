// `npm run demo:pay -- <dealId> [amount]`: pays a deal on the local chain of a running `npm start`, from a
// funded dev account, and waits until the deal shows funded. The amount (in whole tokens, e.g. 12.5)
// defaults to what is still missing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry, formatAmount, parseAmount } from '@amanat/core';
import { createPool, getDealWithPayments } from '@amanat/platform';
import { type Address, createWalletClient, defineChain, http, parseAbi, publicActions } from 'viem';
import { anvilDevAccounts } from './chain.ts';
import { RUNNING_FILE, runningSchema } from './running.ts';

const root = join(import.meta.dirname, '..');
const dataDir = process.env.DATA_DIR ? join(root, process.env.DATA_DIR) : join(root, '.data');
const fail = (message: string): never => {
  console.error(`[demo:pay] ${message}`);
  process.exit(1);
};

async function main() {
  const [dealId, amountText] = process.argv.slice(2);
  if (!dealId || !/^[0-9a-f-]{36}$/i.test(dealId)) {
    fail('usage: npm run demo:pay -- <dealId> [amount in whole tokens, e.g. 12.5]');
  }
  const file = join(dataDir, RUNNING_FILE);
  if (!existsSync(file)) fail(`${file} not found: start the system with \`npm start\` first.`);
  const running = runningSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const pool = createPool({ connectionString: running.databaseUrl, schema: running.databaseSchema, max: 2 });
  try {
    const deal = (await getDealWithPayments(pool, dealId as string)) ?? fail(`no deal ${dealId}`);
    if (!deal.deposit) {
      fail(`deal ${dealId} is ${deal.state}: both parties must accept before it has a deposit address.`);
    }
    const registry = createRegistry({ rpcUrls: running.rpcUrls });
    const token = registry.requireToken(deal.asset);
    const rpcUrl =
      registry.chain(deal.asset.chainId)?.rpcUrls[0] ?? fail('the deal is not on the local chain');
    const missing = deal.quote.amountDue - deal.confirmedAmount - deal.confirmingAmount;
    const amount = amountText ? parseAmount(amountText, token.decimals) : missing;
    if (amount <= 0n)
      fail(
        `nothing is missing: ${deal.state}, ${formatAmount(deal.confirmedAmount, token.decimals)} ${token.symbol} confirmed.`,
      );

    // Dev account 1 holds demo tokens and ETH; it stands in for the buyer's own wallet.
    const [, payer] = anvilDevAccounts(2);
    const chain = defineChain({
      id: deal.asset.chainId,
      name: 'local',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    const wallet = createWalletClient({
      chain,
      transport: http(rpcUrl),
      account: payer ?? fail('no dev account'),
    }).extend(publicActions);
    const to = deal.deposit?.address as Address;
    const hash =
      deal.asset.token === 'native'
        ? await wallet.sendTransaction({ to, value: amount })
        : await wallet.writeContract({
            address: deal.asset.token,
            abi: parseAbi(['function transfer(address to, uint256 value)']),
            functionName: 'transfer',
            args: [to, amount],
          });
    const receipt = await wallet.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') fail(`the transfer reverted (${hash})`);
    console.log(
      `[demo:pay] sent ${formatAmount(amount, token.decimals)} ${token.symbol} to ${to} in block ${receipt.blockNumber} (tx ${hash})`,
    );

    // The scanner reports it, the API queues it, the payments worker verifies and records it.
    const deadline = Date.now() + 120_000;
    let last = '';
    for (;;) {
      const now = (await getDealWithPayments(pool, dealId as string)) ?? fail('the deal disappeared');
      const line = `${now.state} (${formatAmount(now.confirmedAmount, token.decimals)} confirmed, ${formatAmount(now.confirmingAmount, token.decimals)} confirming)`;
      if (line !== last) console.log(`[demo:pay] deal ${dealId}: ${line}`);
      last = line;
      if (now.confirmedAmount >= deal.confirmedAmount + amount) break;
      if (now.needsReview) fail(`the deal is flagged for review: ${now.reviewReasons.join(', ')}`);
      if (Date.now() > deadline)
        fail('the payment was not recorded within 2 minutes: are the scanner and workers running?');
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await pool.end();
  }
}

await main();
