export { BlockUnavailableError, type ChainRpcHandle, createChainRpc } from './chain-rpc.ts';
export { RpcDataError, TRANSFER_TOPIC } from './rpc-data.ts';
export { ChainRpcError, WrongChainError } from './transport.ts';
export type * from './types.ts';
