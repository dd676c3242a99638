import { spawn } from 'node:child_process';
import { anvilBinaryPath, deployDemoTokens, anvilDevAccounts, DEMO_TOKENS, ANVIL_MNEMONIC } from '/work/main/devstack/chain.ts';
import { rpc, rpcBatch, Nonces, randomAddress, toQuantity } from '/work/main/bench/scanner-chain.ts';
const extra = process.argv.slice(2);
const child = spawn(anvilBinaryPath(), ['--port', '18545', '--mnemonic', ANVIL_MNEMONIC, ...extra], { stdio: 'ignore' });
const url = 'http://127.0.0.1:18545';
for (;;) { try { await rpc(url, 'eth_chainId'); break; } catch { await new Promise(r => setTimeout(r, 50)); } }
try {
  await deployDemoTokens(url);
  const senders = anvilDevAccounts().map((a) => a.address);
  const nonces = new Nonces(); await nonces.load(url, senders);
  await rpc(url, 'evm_setAutomine', [false]);
  let t = performance.now(); const t0 = t; let sendMs = 0, mineMs = 0;
  for (let b = 0; b < 2000; b++) {
    const calls = [];
    for (let k = 0; k < 10; k++) { const from = senders[k]!; calls.push({ method: 'eth_sendTransaction', params: [{ from, to: k%2? DEMO_TOKENS.usdt.address : DEMO_TOKENS.usdc.address, data: '0xa9059cbb' + randomAddress().slice(2).padStart(64,'0') + '1'.padStart(64,'0'), gas: toQuantity(100000), nonce: toQuantity(nonces.take(from)) }] }); }
    const a = performance.now();
    await rpcBatch(url, calls);
    const m = performance.now();
    await rpc(url, 'evm_mine');
    sendMs += m - a; mineMs += performance.now() - m;
    if (b % 500 === 499) { console.log(b, 'ms', performance.now() - t, 'send', sendMs, 'mine', mineMs); t = performance.now(); sendMs = 0; mineMs = 0; }
  }
  console.log('total', performance.now() - t0);
  t = performance.now();
  const blocks = await rpcBatch(url, Array.from({length: 250}, (_, i) => ({ method: 'eth_getBlockByNumber', params: [toQuantity(100 + i), true] })));
  console.log('250 full blocks', performance.now() - t);
  t = performance.now();
  const logs = await rpc<unknown[]>(url, 'eth_getLogs', [{ fromBlock: toQuantity(100), toBlock: toQuantity(350), topics: ['0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef', null, Array.from({length: 500}, () => '0x' + randomAddress().slice(2).padStart(64, '0'))] }]);
  console.log('getLogs 500 topics 250 blocks', performance.now() - t, logs.length);
} finally { child.kill(); }
