// A JSON-RPC proxy for tests and benchmarks: sits in front of a real node (anvil) and counts what passes,
// or misbehaves the way real providers do (range refusals, HTTP 500, dropped sockets, silence).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JsonRpcCall {
  jsonrpc?: string;
  id?: unknown;
  method: string;
  params?: unknown;
}

/** What an intercepting behaviour answers instead of the node: a result or a JSON-RPC error. */
export type JsonRpcReply = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

export type LogRangeRefusal =
  /** Infura style, code -32005, with the range that would work: "Try with this block range [0x.., 0x..]." */
  | 'suggest-range'
  /** A bare "block range is too large" with no hint (code -32000): the client can only halve. */
  | 'too-large'
  /** BSC style, code -32000, naming the cap: "exceed maximum block range: N". */
  | 'max-range';

export type ProxyBehaviour =
  /** Forward everything, counting. */
  | { kind: 'forward' }
  /** Answer every request with HTTP 500. */
  | { kind: 'http-500' }
  /** Drop the connection without answering. */
  | { kind: 'close-socket' }
  /** Never answer (the client's timeout has to fire). */
  | { kind: 'hang' }
  /** Refuse eth_getLogs over more than `maxBlocks` blocks the way providers do; forward the rest. */
  | { kind: 'limit-log-range'; maxBlocks: bigint; refusal: LogRangeRefusal }
  /** Answer a call yourself by returning a reply; `undefined` forwards it. */
  | {
      kind: 'intercept';
      handle: (call: JsonRpcCall) => JsonRpcReply | undefined | Promise<JsonRpcReply | undefined>;
    };

export interface RpcProxy {
  url: string;
  /** HTTP requests received. */
  readonly requests: number;
  /** JSON-RPC calls received (a batch counts each call). */
  readonly calls: number;
  /** JSON-RPC calls received per method. */
  readonly callsByMethod: ReadonlyMap<string, number>;
  /** eth_getLogs calls refused by a `limit-log-range` behaviour. */
  readonly refusedLogRanges: number;
  /** Every JSON-RPC call received, in order, when started with `record: true` (empty otherwise). */
  readonly recorded: readonly JsonRpcCall[];
  setBehaviour(behaviour: ProxyBehaviour): void;
  resetCounts(): void;
  close(): Promise<void>;
}

export interface RpcProxyOptions {
  /** The node to forward to. */
  target: string;
  behaviour?: ProxyBehaviour;
  /** Keep every call received (for assertions on what was asked); off by default for benchmarks. */
  record?: boolean;
}

export async function startRpcProxy(opts: RpcProxyOptions): Promise<RpcProxy> {
  let behaviour: ProxyBehaviour = opts.behaviour ?? { kind: 'forward' };
  const recorded: JsonRpcCall[] = [];
  let requests = 0;
  let calls = 0;
  let refusedLogRanges = 0;
  const callsByMethod = new Map<string, number>();

  const count = (call: JsonRpcCall) => {
    calls++;
    if (opts.record) recorded.push(call);
    callsByMethod.set(call.method, (callsByMethod.get(call.method) ?? 0) + 1);
  };

  const answer = async (call: JsonRpcCall): Promise<JsonRpcReply | undefined> => {
    if (behaviour.kind === 'intercept') return behaviour.handle(call);
    if (behaviour.kind === 'limit-log-range' && call.method === 'eth_getLogs') {
      const refusal = refuseLogRange(call, behaviour.maxBlocks, behaviour.refusal);
      if (refusal) refusedLogRanges++;
      return refusal;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const batch = Array.isArray(parsed);
    const list = (batch ? parsed : parsed === undefined ? [] : [parsed]) as JsonRpcCall[];
    for (const call of list) count(call);

    switch (behaviour.kind) {
      case 'http-500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
        return;
      case 'close-socket':
        req.socket.destroy();
        return;
      case 'hang':
        return; // left open until close()
    }
    if (parsed === undefined) {
      const forwarded = await forward(opts.target, body);
      res.writeHead(forwarded.status, { 'content-type': 'application/json' }).end(forwarded.text);
      return;
    }

    const replies = await Promise.all(list.map((call) => answer(call)));
    const toForward = list.filter((_, i) => replies[i] === undefined);
    const forwardedById = new Map<string, unknown>();
    if (toForward.length > 0) {
      const forwarded = await forward(opts.target, JSON.stringify(batch ? toForward : toForward[0]));
      if (forwarded.status !== 200) {
        res.writeHead(forwarded.status, { 'content-type': 'application/json' }).end(forwarded.text);
        return;
      }
      const data: unknown = JSON.parse(forwarded.text);
      for (const item of Array.isArray(data) ? data : [data]) {
        forwardedById.set(JSON.stringify((item as { id?: unknown }).id), item);
      }
    }
    const out = list.map((call, i) => {
      const reply = replies[i];
      if (reply !== undefined) return { jsonrpc: '2.0', id: call.id, ...reply };
      return forwardedById.get(JSON.stringify(call.id));
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(batch ? out : out[0]));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy error: ${String(err)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get calls() {
      return calls;
    },
    get callsByMethod() {
      return callsByMethod;
    },
    get refusedLogRanges() {
      return refusedLogRanges;
    },
    get recorded() {
      return recorded;
    },
    setBehaviour(next) {
      behaviour = next;
    },
    resetCounts() {
      requests = 0;
      calls = 0;
      refusedLogRanges = 0;
      callsByMethod.clear();
      recorded.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function refuseLogRange(
  call: JsonRpcCall,
  maxBlocks: bigint,
  refusal: LogRangeRefusal,
): JsonRpcReply | undefined {
  const filter = Array.isArray(call.params)
    ? (call.params[0] as { fromBlock?: unknown; toBlock?: unknown })
    : undefined;
  const from = filter?.fromBlock;
  const to = filter?.toBlock;
  if (typeof from !== 'string' || typeof to !== 'string' || !from.startsWith('0x') || !to.startsWith('0x')) {
    return undefined;
  }
  const fromBlock = BigInt(from);
  if (BigInt(to) - fromBlock + 1n <= maxBlocks) return undefined;
  switch (refusal) {
    case 'suggest-range': {
      const end = fromBlock + maxBlocks - 1n;
      return {
        error: {
          code: -32005,
          message: `query returned more than 10000 results. Try with this block range [0x${fromBlock.toString(16)}, 0x${end.toString(16)}].`,
        },
      };
    }
    case 'too-large':
      return { error: { code: -32000, message: 'block range is too large' } };
    case 'max-range':
      return { error: { code: -32000, message: `exceed maximum block range: ${maxBlocks}` } };
  }
}

async function forward(target: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text() };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
