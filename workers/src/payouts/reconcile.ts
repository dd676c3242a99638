import type { AssetRegistry } from '@amanat/core';
import {
  type AssetLedger,
  type BalanceDrift,
  clearDrift,
  type DealStore,
  depositLedgers,
  driftKey,
  type Logger,
  ledgerKey,
  type Pool,
  type ReconcileTarget,
  reconcileTargetsPage,
  recordAttemptGas,
  reportedDrifts,
  saveDrift,
  unmeasuredAttempts,
} from '@amanat/platform';
import {
  type Address,
  createPublicClient,
  erc20Abi,
  fallback,
  http,
  type PublicClient,
  parseAbi,
} from 'viem';

/**
 * Reconciliation (issue 7): every deposit address that may still hold or owe money is read on every
 * active chain (each registry token and the native coin) and compared with its ledger in PostgreSQL
 * (platform/src/payouts/ledger.ts). Money the chain shows but no payment recorded (native coin from a
 * contract-internal transfer, which no block transaction shows) or money gone that no payout recorded is
 * drift: the deal is flagged for review, which alerts every operator, once per distinct drift.
 */

export interface ReconcileDeps {
  pool: Pool;
  registry: AssetRegistry;
  /** A client for the chain, or null when this process has none (the chain is then skipped). */
  chainFor(chainId: number): PublicClient | null;
  store: DealStore;
  logger: Logger;
  /** A difference up to this many base units (of any asset) is not drift. Default 0: to the base unit. */
  tolerance?: bigint;
  /** Deposit addresses per page (one batch of chain reads, one ledger query). */
  pageSize?: number;
  /** Settled deals changed within this long are still reconciled (see reconcileTargetsPage). */
  recentMs?: number;
  /**
   * How long to wait before re-reading an address that drifted, and to flag it only if it still does: a
   * payment mined a moment before the read may not be recorded yet (the scanner and the payments worker
   * take a few seconds), and a flag blocks the deal's release until an operator clears it.
   */
  settleMs?: number;
  /**
   * How long the same difference must last before it is drift and flags the deal: a payment the scanner
   * or the payments worker has not recorded yet (one of them behind, restarting, or catching up after a
   * Redis loss) looks exactly like drift until then. Default 10 minutes.
   */
  graceMs?: number;
  /** RPC reads at once per chain when it has no multicall3. */
  concurrency?: number;
  now?: () => Date;
  /** Waits `settleMs` (a test seam: tests record what "arrives" meanwhile). */
  wait?: (ms: number) => Promise<void>;
}

export interface ReconcileSummary {
  /** Deposit addresses compared (each on every active chain). */
  addresses: number;
  /** Assets whose balance drifted from the ledger (new or already reported). */
  drifts: number;
  /** Drifts that flagged their deal in this run (new or changed since the last report). */
  flagged: number;
  /** Reads or flags that failed; the next run tries again. */
  errors: number;
}

const DEFAULTS = {
  pageSize: 200,
  recentMs: 7 * 86_400_000,
  // No blocking second look by default: it would hold the maintenance worker; the grace period covers it.
  settleMs: 0,
  graceMs: 10 * 60_000,
  concurrency: 8,
} as const;

/** The canonical multicall3 deployment (the same address on every chain that has it). */
export const MULTICALL3_ADDRESS: Address = '0xcA11bde05977b3631167028862bE2a173976CA11';
const multicall3Abi = parseAbi(['function getEthBalance(address addr) view returns (uint256 balance)']);

const ACTOR = { kind: 'system', component: 'reconcile' } as const;

/** The review reason of a drift: `balance_drift:<chainId>:<token>:<onchain>:<ledger>` (base units). */
export const balanceDriftReason = (d: Omit<BalanceDrift, 'dealId'>): string =>
  `balance_drift:${d.chainId}:${d.token.toLowerCase()}:${d.onchain}:${d.ledger}`;

/**
 * Read-only clients for the registry's active chains, made on first use: over every RPC URL of the chain,
 * in order, with HTTP batching (the many balance reads of a page go out in few requests).
 */
export function registryChainClients(registry: AssetRegistry): (chainId: number) => PublicClient | null {
  const clients = new Map<number, PublicClient>();
  return (chainId) => {
    const existing = clients.get(chainId);
    if (existing) return existing;
    const chain = registry.chain(chainId);
    if (!chain || chain.rpcUrls.length === 0) return null;
    const transports = chain.rpcUrls.map((url) => http(url, { timeout: 15_000, retryCount: 1, batch: true }));
    const client = createPublicClient({
      transport: transports.length === 1 ? (transports[0] as ReturnType<typeof http>) : fallback(transports),
    }) as PublicClient;
    clients.set(chainId, client);
    return client;
  };
}

interface ChainReader {
  chainId: number;
  client: PublicClient;
  /** Lower-cased: 'native' or the token address. */
  tokens: string[];
  multicall: boolean;
}

/** One balance read: `${address}/${chainId}/${token}` → balance, or an Error when the read failed. */
type Balances = Map<string, bigint | Error>;
const balanceKey = (address: string, chainId: number, token: string) =>
  `${address.toLowerCase()}/${ledgerKey(chainId, token)}`;

/** Compares every reconciled deposit address with its ledger; see the module comment. */
export async function reconcileBalances(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const opts = {
    pageSize: deps.pageSize ?? DEFAULTS.pageSize,
    recentMs: deps.recentMs ?? DEFAULTS.recentMs,
    settleMs: deps.settleMs ?? DEFAULTS.settleMs,
    graceMs: deps.graceMs ?? DEFAULTS.graceMs,
    concurrency: deps.concurrency ?? DEFAULTS.concurrency,
    tolerance: deps.tolerance ?? 0n,
  };
  const summary: ReconcileSummary = { addresses: 0, drifts: 0, flagged: 0, errors: 0 };
  const readers = await chainReaders(deps, summary);
  if (readers.length === 0) {
    deps.logger.warn('reconciliation skipped: no active chain has an RPC client');
    return summary;
  }
  const recentSince = new Date((deps.now?.() ?? new Date()).getTime() - opts.recentMs);
  let afterIndex = -1n;
  for (;;) {
    const page = await reconcileTargetsPage(deps.pool, { afterIndex, limit: opts.pageSize, recentSince });
    if (page.length === 0) break;
    afterIndex = (page[page.length - 1] as ReconcileTarget).derivationIndex;
    await reconcilePage(deps, opts, readers, page, summary);
    summary.addresses += page.length;
    if (page.length < opts.pageSize) break;
  }
  deps.logger.info({ ...summary, chains: readers.map((r) => r.chainId) }, 'balances reconciled');
  return summary;
}

async function chainReaders(deps: ReconcileDeps, summary: ReconcileSummary): Promise<ChainReader[]> {
  const readers: ChainReader[] = [];
  for (const chain of deps.registry.activeChains()) {
    const client = deps.chainFor(chain.chainId);
    if (!client) continue;
    try {
      // anvil and young chains have no multicall3: balances are then read one call each.
      const code = await client.getCode({ address: MULTICALL3_ADDRESS });
      readers.push({
        chainId: chain.chainId,
        client,
        tokens: deps.registry.tokens(chain.chainId).map((t) => t.address.toLowerCase()),
        multicall: code !== undefined && code !== '0x',
      });
    } catch (err) {
      summary.errors += 1;
      deps.logger.warn({ err, chainId: chain.chainId }, 'reconciliation: chain unreachable, skipped');
    }
  }
  return readers;
}

interface Options {
  settleMs: number;
  graceMs: number;
  concurrency: number;
  tolerance: bigint;
}

/** One compared asset of one deposit address. */
interface Comparison {
  target: ReconcileTarget;
  chainId: number;
  token: string;
  onchain: bigint;
  ledger: AssetLedger;
  /** Outside the range the ledger allows, beyond the tolerance. */
  drifted: boolean;
}

async function reconcilePage(
  deps: ReconcileDeps,
  opts: Options,
  readers: ChainReader[],
  page: ReconcileTarget[],
  summary: ReconcileSummary,
): Promise<void> {
  let comparisons = await compare(deps, opts, readers, page, summary);
  const suspects = comparisons.filter((c) => c.drifted);
  if (suspects.length > 0 && opts.settleMs > 0) {
    // A second look after the pipeline had time to record what just arrived; only what still drifts counts.
    await (deps.wait ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))))(opts.settleMs);
    const again = await compare(deps, opts, readers, uniqueTargets(suspects), summary);
    const now = new Map(again.map((c) => [keyOf(c), c]));
    // What could not be read again is left for the next run, neither flagged nor cleared.
    comparisons = comparisons.flatMap((c) => {
      if (!c.drifted) return [c];
      const second = now.get(keyOf(c));
      return second ? [second] : [];
    });
  }
  const reported = await reportedDrifts(
    deps.pool,
    page.map((t) => t.dealId),
  );
  for (const c of comparisons) {
    const last = reported.get(keyOf(c));
    if (!c.drifted) {
      // Agreeing while something is in flight proves little: the last report stays until it is settled.
      const settled = c.ledger.inFlightIn === 0n && c.ledger.inFlightOut === 0n;
      if (last && settled) {
        await clearDrift(deps.pool, last);
        deps.logger.info(
          { dealId: c.target.dealId, chainId: c.chainId, token: c.token },
          'balance drift resolved',
        );
      }
      continue;
    }
    summary.drifts += 1;
    const drift: BalanceDrift = {
      dealId: c.target.dealId,
      chainId: c.chainId,
      token: c.token,
      onchain: c.onchain,
      ledger: c.ledger.expected,
    };
    // The same unexplained difference is the same drift, even if money moved through the address since.
    const same = last !== undefined && last.onchain - last.ledger === drift.onchain - drift.ledger;
    if (same && last.flagged) {
      if (last.onchain !== drift.onchain) await saveDrift(deps.pool, { ...drift, flagged: true });
      continue;
    }
    const now = (deps.now ?? (() => new Date()))().getTime();
    if (same && now - (last.seenAt?.getTime() ?? now) < opts.graceMs) continue;
    if (!same) {
      // Seen for the first time (or changed): money the pipeline has not recorded yet looks like this,
      // for as long as a scanner or the payments worker is behind. Only a difference that lasts the grace
      // period is drift.
      await saveDrift(deps.pool, { ...drift, flagged: false });
      deps.logger.warn(
        { dealId: drift.dealId, chainId: drift.chainId, token: drift.token },
        'deposit address balance differs from the ledger; flagged if it lasts the grace period',
      );
      continue;
    }
    const where = {
      dealId: drift.dealId,
      address: c.target.address,
      chainId: drift.chainId,
      token: drift.token,
      onchain: String(drift.onchain),
      ledger: String(drift.ledger),
      inFlightIn: String(c.ledger.inFlightIn),
      inFlightOut: String(c.ledger.inFlightOut),
    };
    try {
      await deps.store.act(drift.dealId, { type: 'flag_review', reason: balanceDriftReason(drift) }, ACTOR);
      // Saved after the flag: a crash between them flags twice rather than never.
      await saveDrift(deps.pool, { ...drift, flagged: true });
      summary.flagged += 1;
      deps.logger.error(where, 'deposit address balance drifted from the ledger: deal flagged for review');
    } catch (err) {
      summary.errors += 1;
      deps.logger.error({ ...where, err }, 'deposit address balance drifted, and flagging the deal failed');
    }
  }
}

const keyOf = (c: Comparison) => driftKey({ dealId: c.target.dealId, chainId: c.chainId, token: c.token });

function uniqueTargets(comparisons: Comparison[]): ReconcileTarget[] {
  const byDeal = new Map(comparisons.map((c) => [c.target.dealId, c.target]));
  return [...byDeal.values()];
}

/**
 * Reads the chain first and the ledger second. A payout mined in between is then already confirmed or
 * still in flight in the ledger, and a payment that arrived in between is not yet on the chain as read,
 * or pending in the ledger: either way a range the ledger allows, never drift.
 */
async function compare(
  deps: ReconcileDeps,
  opts: Options,
  readers: ChainReader[],
  targets: ReconcileTarget[],
  summary: ReconcileSummary,
): Promise<Comparison[]> {
  const balances: Balances = new Map();
  await Promise.all(
    readers.map(async (r) => {
      try {
        await readBalances(r, targets, balances, opts.concurrency);
      } catch (err) {
        summary.errors += 1;
        deps.logger.warn({ err, chainId: r.chainId }, 'reconciliation: could not read balances');
      }
    }),
  );
  const dealIds = targets.map((t) => t.dealId);
  await measureGas(deps, readers, dealIds, summary);
  const ledgers = await depositLedgers(deps.pool, dealIds);

  const out: Comparison[] = [];
  for (const target of targets) {
    const entries = new Map(
      (ledgers.get(target.dealId) ?? []).map((l) => [ledgerKey(l.chainId, l.token), l]),
    );
    for (const r of readers) {
      for (const token of r.tokens) {
        const onchain = balances.get(balanceKey(target.address, r.chainId, token));
        if (onchain === undefined) continue;
        if (onchain instanceof Error) {
          summary.errors += 1;
          deps.logger.warn(
            { err: onchain, dealId: target.dealId, chainId: r.chainId, token },
            'reconciliation: balance read failed',
          );
          continue;
        }
        const ledger = entries.get(ledgerKey(r.chainId, token)) ?? {
          chainId: r.chainId,
          token,
          expected: 0n,
          inFlightIn: 0n,
          inFlightOut: 0n,
        };
        const low = ledger.expected - ledger.inFlightOut - opts.tolerance;
        const high = ledger.expected + ledger.inFlightIn + opts.tolerance;
        out.push({
          target,
          chainId: r.chainId,
          token,
          onchain,
          ledger,
          drifted: onchain < low || onchain > high,
        });
      }
    }
  }
  return out;
}

/** Balances of every target on one chain, all at one block so that they agree with each other. */
async function readBalances(
  r: ChainReader,
  targets: ReconcileTarget[],
  into: Balances,
  concurrency: number,
): Promise<void> {
  const blockNumber = await r.client.getBlockNumber({ cacheTime: 0 });
  const reads = targets.flatMap((t) => r.tokens.map((token) => ({ address: t.address as Address, token })));
  if (r.multicall) {
    const results = await r.client.multicall({
      blockNumber,
      multicallAddress: MULTICALL3_ADDRESS,
      allowFailure: true,
      contracts: reads.map(({ address, token }) =>
        token === 'native'
          ? {
              address: MULTICALL3_ADDRESS,
              abi: multicall3Abi,
              functionName: 'getEthBalance' as const,
              args: [address] as const,
            }
          : {
              address: token as Address,
              abi: erc20Abi,
              functionName: 'balanceOf' as const,
              args: [address] as const,
            },
      ),
    });
    results.forEach((res, i) => {
      const { address, token } = reads[i] as (typeof reads)[number];
      into.set(
        balanceKey(address, r.chainId, token),
        res.status === 'success' ? (res.result as bigint) : res.error,
      );
    });
    return;
  }
  await eachLimited(reads, concurrency, async ({ address, token }) => {
    try {
      const balance =
        token === 'native'
          ? await r.client.getBalance({ address, blockNumber })
          : await r.client.readContract({
              address: token as Address,
              abi: erc20Abi,
              functionName: 'balanceOf',
              args: [address],
              blockNumber,
            });
      into.set(balanceKey(address, r.chainId, token), balance);
    } catch (err) {
      into.set(balanceKey(address, r.chainId, token), err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/**
 * Records the gas cost of mined payout transactions that lack it, from their receipts, so the native
 * ledger counts what was really burned instead of an upper bound.
 */
async function measureGas(
  deps: ReconcileDeps,
  readers: ChainReader[],
  dealIds: string[],
  summary: ReconcileSummary,
): Promise<void> {
  const attempts = await unmeasuredAttempts(deps.pool, dealIds);
  const clients = new Map(readers.map((r) => [r.chainId, r.client]));
  await eachLimited(attempts, DEFAULTS.concurrency, async (a) => {
    const client = clients.get(a.chainId);
    if (!client) return;
    try {
      const receipt = await client.getTransactionReceipt({ hash: a.txHash });
      await recordAttemptGas(deps.pool, a.id, receipt);
    } catch (err) {
      summary.errors += 1;
      deps.logger.warn({ err, attemptId: String(a.id), txHash: a.txHash }, 'reconciliation: no receipt');
    }
  });
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}
