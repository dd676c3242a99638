// Local EVM dev chain: an anvil process plus the two demo stablecoins the rest of the stack expects.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  erc20Abi,
  type Hash,
  type HDAccount,
  http,
  isAddressEqual,
  type PublicClient,
  parseAbi,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { parseContractArtifact } from './contracts/artifact.ts';
import standardToken18Json from './contracts/artifacts/StandardToken18.json' with { type: 'json' };
import tetherLikeTokenJson from './contracts/artifacts/TetherLikeToken.json' with { type: 'json' };
import { isPortFree } from './ports.ts';

/** anvil's built-in, publicly known test mnemonic. Never holds real funds. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
/** Private key of anvil account 0 (0xf39F…2266), public knowledge; only for local chains. */
export const ANVIL_DEPLOYER_PRIVATE_KEY =
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const ANVIL_DEFAULT_CHAIN_ID = 31337;
/** Whole tokens minted to each of the first DEMO_FUNDED_ACCOUNTS dev accounts. */
export const DEMO_MINT_WHOLE_TOKENS = 1_000_000n;
export const DEMO_FUNDED_ACCOUNTS = 10;

const LOOPBACK = '127.0.0.1';
const STDERR_KEEP_BYTES = 16_384;
const STOP_GRACE_MS = 5_000;
// anvil only writes --state on a clean exit; periodic saves bound what a crash or SIGKILL loses.
const STATE_SAVE_INTERVAL_S = 10;

export const DEMO_TOKENS = {
  // Account 0's nonce 0 and 1 CREATE addresses: stable across fresh chains, so configs can hardcode them.
  usdt: {
    symbol: 'USDT',
    decimals: 6,
    address: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    artifact: parseContractArtifact(tetherLikeTokenJson, 'TetherLikeToken.json'),
  },
  usdc: {
    symbol: 'USDC',
    decimals: 18,
    address: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    artifact: parseContractArtifact(standardToken18Json, 'StandardToken18.json'),
  },
} as const;

export type DemoTokenKey = keyof typeof DEMO_TOKENS;
const DEMO_TOKEN_KEYS = ['usdt', 'usdc'] as const satisfies readonly DemoTokenKey[];

const mintAbi = parseAbi(['function mint(address to, uint256 value)']);
// Mint costs ~70k gas; a fixed limit avoids estimating 20 transactions that may not be mined yet.
const MINT_GAS = 150_000n;

export type StartAnvilOptions = {
  /** Port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** Seconds between blocks; omitted means anvil's automine (one block per transaction). */
  blockTime?: number;
  chainId?: number;
  /** Hide anvil's stdout/stderr. Defaults to true; stderr is still kept for error messages. */
  silent?: boolean;
  /**
   * File to load the chain from (when it exists) and save it to, so a restarted launcher keeps its
   * blocks, balances and deployed tokens. Saved on stop and every STATE_SAVE_INTERVAL_S seconds.
   */
  statePath?: string;
  /** How long to wait for anvil to answer eth_chainId. Defaults to 15 s. */
  startTimeoutMs?: number;
};

export type AnvilHandle = {
  rpcUrl: string;
  port: number;
  chainId: number;
  /** SIGTERM, then wait for the process to exit (SIGKILL after a grace period). Safe to call twice. */
  stop(): Promise<void>;
};

/** The 10 funded dev accounts anvil derives from ANVIL_MNEMONIC, in anvil's order. */
export function anvilDevAccounts(count = DEMO_FUNDED_ACCOUNTS): HDAccount[] {
  return Array.from({ length: count }, (_, addressIndex) =>
    mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex }),
  );
}

export function anvilBinaryPath(): string {
  const pkg = createRequire(import.meta.url).resolve('@foundry-rs/anvil-linux-amd64/package.json');
  return join(dirname(pkg), 'bin', 'anvil');
}

export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilHandle> {
  const chainId = opts.chainId ?? ANVIL_DEFAULT_CHAIN_ID;
  if (!Number.isSafeInteger(chainId) || chainId < 1) {
    throw new RangeError(`chainId must be a positive integer, got ${chainId}`);
  }
  if (opts.blockTime !== undefined && !(opts.blockTime > 0)) {
    throw new RangeError(`blockTime must be a positive number of seconds, got ${opts.blockTime}`);
  }

  if (opts.port !== undefined) {
    // Checked up front: otherwise the readiness probe could be answered by whatever already listens there.
    if (!(await isPortFree(opts.port))) {
      throw new Error(
        `Cannot start anvil: ${LOOPBACK}:${opts.port} is already in use. Pick another port or omit it.`,
      );
    }
    return launch(opts.port, chainId, opts);
  }

  // Port 0: anvil binds a free port itself and says which. Picking a "free" port first is a race: another
  // process may take it, and the readiness probe could then be answered by someone else's anvil.
  return launch(0, chainId, opts);
}

class AnvilStartError extends Error {
  constructor(message: string, stderr: string) {
    super(stderr.trim() ? `${message}\nanvil stderr:\n${stderr.trim()}` : message);
    this.name = 'AnvilStartError';
  }
}

async function launch(port: number, chainId: number, opts: StartAnvilOptions): Promise<AnvilHandle> {
  const silent = opts.silent ?? true;
  const args = ['--host', LOOPBACK, '--port', String(port), '--chain-id', String(chainId)];
  // Passed explicitly so the funded accounts cannot drift if anvil ever changes its default.
  args.push('--mnemonic', ANVIL_MNEMONIC);
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.statePath !== undefined) {
    mkdirSync(dirname(opts.statePath), { recursive: true });
    args.push('--state', opts.statePath, '--state-interval', String(STATE_SAVE_INTERVAL_S));
  }

  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);

  // The port anvil listens on, from its "Listening on <host>:<port>" line (the one asked for, or the one it
  // chose for port 0).
  let listening: number | null = null;
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    if (listening === null) {
      stdout = (stdout + chunk).slice(-STDERR_KEEP_BYTES);
      const match = /Listening on [^\s:]+:(\d+)/.exec(stdout);
      if (match) listening = Number(match[1]);
    }
    if (!silent) process.stdout.write(chunk);
  });

  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP_BYTES);
    if (!silent) process.stderr.write(chunk);
  });

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  let rpcUrl = '';
  try {
    for (;;) {
      if (spawnError)
        throw new AnvilStartError(
          `Could not run anvil (${anvilBinaryPath()}): ${spawnError.message}`,
          stderr,
        );
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new AnvilStartError(
          `anvil exited before it was ready (code ${child.exitCode}, signal ${child.signalCode}) on port ${listening ?? port}.`,
          stderr,
        );
      }
      if (listening === null) {
        if (Date.now() > deadline)
          throw new AnvilStartError('anvil did not start listening in time.', stderr);
        await sleep(20);
        continue;
      }
      rpcUrl = `http://${LOOPBACK}:${listening}`;
      const answered = await probeChainId(rpcUrl);
      if (answered !== undefined) {
        if (answered !== chainId) {
          throw new AnvilStartError(
            `anvil on ${rpcUrl} reports chain id ${answered}, expected ${chainId}.`,
            stderr,
          );
        }
        break;
      }
      if (Date.now() > deadline) {
        throw new AnvilStartError(`anvil did not answer eth_chainId on ${rpcUrl} in time.`, stderr);
      }
      await sleep(50);
    }
  } catch (err) {
    await terminate(child, exited);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    rpcUrl,
    port: listening ?? port,
    chainId,
    stop: () => {
      stopping ??= terminate(child, exited);
      return stopping;
    },
  };
}

async function probeChainId(rpcUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    if (!res.ok) return undefined;
    const body: unknown = await res.json();
    const result = typeof body === 'object' && body !== null && 'result' in body ? body.result : undefined;
    return typeof result === 'string' ? Number.parseInt(result, 16) : undefined;
  } catch {
    return undefined; // not listening yet
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const graceful = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!graceful) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  await exited;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- Never leave an orphaned anvil behind when the parent goes away. ---

const liveChildren = new Set<ChildProcess>();
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killAllSync(): void {
  // SIGTERM rather than SIGKILL: anvil exits promptly on it and still saves --state on the way out.
  for (const child of liveChildren) child.kill('SIGTERM');
}

function onParentSignal(signal: NodeJS.Signals): void {
  // A host with its own handler (the launcher) stops anvil in its own order; the 'exit' hook remains
  // for a crash. Otherwise stop anvil and restore Node's default "exit on signal".
  if (process.listenerCount(signal) > 1) return;
  killAllSync();
  uninstallParentHooks();
  process.kill(process.pid, signal);
}

function installParentHooks(): void {
  process.on('exit', killAllSync);
  for (const s of FORWARDED_SIGNALS) process.on(s, onParentSignal);
}

function uninstallParentHooks(): void {
  process.off('exit', killAllSync);
  for (const s of FORWARDED_SIGNALS) process.off(s, onParentSignal);
}

function trackChild(child: ChildProcess): void {
  if (liveChildren.size === 0) installParentHooks();
  liveChildren.add(child);
  child.once('exit', () => {
    liveChildren.delete(child);
    if (liveChildren.size === 0) uninstallParentHooks();
  });
}

// --- Demo tokens ---

function clientsFor(rpcUrl: string, chainId: number) {
  const chain = defineChain({
    id: chainId,
    name: 'anvil (local)',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  // Local chain answers instantly; viem's 4 s default polling would make every receipt wait slow.
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
  const account = privateKeyToAccount(ANVIL_DEPLOYER_PRIVATE_KEY);
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval: 50 });
  return { publicClient, walletClient, account };
}

async function hasDemoToken(publicClient: PublicClient, key: DemoTokenKey): Promise<boolean> {
  const { address, decimals } = DEMO_TOKENS[key];
  const code = await publicClient.getCode({ address });
  if (code === undefined || code === '0x') return false;
  const actual = await publicClient
    .readContract({ address, abi: erc20Abi, functionName: 'decimals' })
    .catch(() => undefined);
  if (actual !== decimals) {
    throw new Error(
      `A contract at ${address} is not the demo ${DEMO_TOKENS[key].symbol} (decimals ${actual ?? 'unreadable'}, ` +
        `expected ${decimals}). Start from a fresh anvil.`,
    );
  }
  return true;
}

async function expectSuccess(publicClient: PublicClient, hash: Hash, what: string) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${what} reverted (tx ${hash}).`);
  return receipt;
}

/**
 * Deploys the demo USDT (6 decimals, no-return transfers) and USDC (18 decimals) at their fixed
 * addresses and mints DEMO_MINT_WHOLE_TOKENS of each to the first 10 dev accounts.
 * Does nothing when both are already deployed; fails when the chain is not fresh enough to land
 * them at DEMO_TOKENS' addresses.
 */
export async function deployDemoTokens(rpcUrl: string): Promise<{ usdt: Address; usdc: Address }> {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const { publicClient, walletClient, account } = clientsFor(rpcUrl, await probe.getChainId());
  const addresses = { usdt: DEMO_TOKENS.usdt.address, usdc: DEMO_TOKENS.usdc.address };

  const present = await Promise.all(DEMO_TOKEN_KEYS.map((k) => hasDemoToken(publicClient, k)));
  if (present.every(Boolean)) return addresses;
  if (present.some(Boolean)) {
    throw new Error(
      'Only one of the demo tokens is deployed on this chain, so a previous deployment was interrupted. ' +
        'Restart anvil to get a fresh chain.',
    );
  }

  // CREATE addresses depend only on sender and nonce; any earlier transaction from account 0 moves them.
  const startNonce = await publicClient.getTransactionCount({
    address: account.address,
    blockTag: 'pending',
  });
  if (startNonce !== 0) {
    throw new Error(
      `Account 0 (${account.address}) has already sent ${startNonce} transaction(s) on ${rpcUrl}, so the demo ` +
        'tokens would not land at their fixed addresses. Restart anvil to get a fresh chain.',
    );
  }

  let nonce = startNonce;
  const deployHashes = await Promise.all(
    DEMO_TOKEN_KEYS.map((key, i) => {
      const { abi, bytecode } = DEMO_TOKENS[key].artifact;
      return walletClient.deployContract({ abi, bytecode, nonce: nonce + i });
    }),
  );
  nonce += DEMO_TOKEN_KEYS.length;
  for (const [i, key] of DEMO_TOKEN_KEYS.entries()) {
    const hash = deployHashes[i];
    if (hash === undefined) throw new Error(`No deployment transaction for ${key}.`);
    const receipt = await expectSuccess(publicClient, hash, `Deploying ${DEMO_TOKENS[key].symbol}`);
    const expected = DEMO_TOKENS[key].address;
    if (!receipt.contractAddress || !isAddressEqual(receipt.contractAddress, expected)) {
      throw new Error(
        `${DEMO_TOKENS[key].symbol} was deployed at ${receipt.contractAddress}, expected ${expected}: ` +
          'the chain was not fresh. Restart anvil.',
      );
    }
  }

  const mints: { hash: Hash; what: string }[] = [];
  for (const key of DEMO_TOKEN_KEYS) {
    const { address, decimals, symbol } = DEMO_TOKENS[key];
    const amount = DEMO_MINT_WHOLE_TOKENS * 10n ** BigInt(decimals);
    for (const holder of anvilDevAccounts()) {
      const hash = await walletClient.writeContract({
        address,
        abi: mintAbi,
        functionName: 'mint',
        args: [holder.address, amount],
        nonce: nonce++,
        gas: MINT_GAS,
      });
      mints.push({ hash, what: `Minting ${symbol} to ${holder.address}` });
    }
  }
  for (const { hash, what } of mints) await expectSuccess(publicClient, hash, what);

  return addresses;
}
