import { describe, expect, it } from 'vitest';
import { addressTopic, parseBlock, parseTransferLogs, RpcDataError, TRANSFER_TOPIC } from './rpc-data.ts';

const TOKEN = '0xdAC17F958D2ee523a2206206994597C13D831ec7';
const SENDER = '0x1111111111111111111111111111111111111111';
const WATCHED = '0xabcdefabcdefabcdefabcdefabcdefabcdefabcd';
const STRANGER = '0x2222222222222222222222222222222222222222';
const amount = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}`;
const hash = (byte: string) => `0x${byte.repeat(32)}`;

function rpcLog(over: Record<string, unknown> = {}) {
  return {
    address: TOKEN,
    topics: [TRANSFER_TOPIC, addressTopic(SENDER), addressTopic(WATCHED.toUpperCase().replace('0X', '0x'))],
    data: amount(1_000_000n),
    blockNumber: '0x10',
    blockHash: hash('aa'),
    transactionHash: hash('bb'),
    transactionIndex: '0x0',
    logIndex: '0x3',
    removed: false,
    ...over,
  };
}

const watched = new Set([WATCHED]);

describe('parseTransferLogs', () => {
  it('decodes an ERC-20 Transfer with lower-case addresses', () => {
    expect(parseTransferLogs([rpcLog()], watched, 0n, 100n)).toEqual([
      {
        token: TOKEN.toLowerCase(),
        from: SENDER,
        to: WATCHED,
        amount: 1_000_000n,
        txHash: hash('bb'),
        logIndex: 3,
        blockNumber: 16n,
        blockHash: hash('aa'),
      },
    ]);
  });

  it('skips what is not a payment to a watched address', () => {
    const erc721 = rpcLog({ topics: [...rpcLog().topics, amount(7n)], data: '0x' });
    const removed = rpcLog({ removed: true });
    const zero = rpcLog({ data: amount(0n) });
    const stranger = rpcLog({ topics: [TRANSFER_TOPIC, addressTopic(SENDER), addressTopic(STRANGER)] });
    const approval = rpcLog({ topics: [hash('8c'), addressTopic(SENDER), addressTopic(WATCHED)] });
    const shortData = rpcLog({ data: '0x01' });
    const dirtyTopic = rpcLog({
      topics: [TRANSFER_TOPIC, addressTopic(SENDER), `0x01${addressTopic(WATCHED).slice(4)}`],
    });
    const outOfRange = rpcLog({ blockNumber: '0x65' });
    const logs = [erc721, removed, zero, stranger, approval, shortData, dirtyTopic, outOfRange];
    expect(parseTransferLogs(logs, watched, 0n, 100n)).toEqual([]);
    expect(parseTransferLogs([...logs, rpcLog()], watched, 0n, 100n)).toHaveLength(1);
  });

  it('refuses a malformed answer instead of guessing', () => {
    expect(() => parseTransferLogs({ not: 'an array' }, watched, 0n, 1n)).toThrow(RpcDataError);
    expect(() => parseTransferLogs([rpcLog({ blockNumber: null })], watched, 0n, 100n)).toThrow(RpcDataError);
    expect(() => parseTransferLogs([rpcLog({ address: '0x1234' })], watched, 0n, 100n)).toThrow(RpcDataError);
    expect(() => parseTransferLogs([rpcLog({ data: 'zz' })], watched, 0n, 100n)).toThrow(RpcDataError);
  });
});

describe('parseBlock', () => {
  const block = {
    number: '0x2a',
    hash: hash('01'),
    parentHash: hash('02'),
    timestamp: '0x6553f100',
    transactions: [
      { hash: hash('03'), from: TOKEN, to: WATCHED, value: '0xde0b6b3a7640000', transactionIndex: '0x0' },
      { hash: hash('04'), from: SENDER, to: null, value: '0x0', transactionIndex: '0x1' },
    ],
  };

  it('keeps number, hashes, timestamp and the transactions, contract creations with no recipient', () => {
    expect(parseBlock(block, 42n)).toEqual({
      number: 42n,
      hash: hash('01'),
      parentHash: hash('02'),
      timestamp: 0x6553f100n,
      transactions: [
        { hash: hash('03'), from: TOKEN.toLowerCase(), to: WATCHED, value: 10n ** 18n, transactionIndex: 0 },
        { hash: hash('04'), from: SENDER, to: null, value: 0n, transactionIndex: 1 },
      ],
    });
  });

  it('refuses transaction hashes in place of transactions, a missing field, or another block than asked', () => {
    expect(() => parseBlock({ ...block, transactions: [hash('03')] })).toThrow(RpcDataError);
    expect(() => parseBlock({ ...block, parentHash: undefined })).toThrow(RpcDataError);
    expect(() => parseBlock(block, 43n)).toThrow(/asked for block 43, got block 42/);
  });
});
