import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from './problem.ts';

/** Node's HTTP parser errors by code, answered the way Node would, but as problem+json. */
const PARSER_ERRORS: Record<string, [number, string, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'Headers too large', 'The request headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [
    413,
    'body_too_large',
    'Body too large',
    'The chunk extensions are too large',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'request_timeout',
    'Request timeout',
    'The request took too long to arrive',
  ],
};

type ParserError = Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number };

/**
 * Whether the refused request was a HEAD, whose answer must not have a body. The packet the parser
 * choked on may begin with the end of the previous request on the connection, so the request line is
 * the last line before the error that looks like one.
 */
function wasHead(err: ParserError): boolean {
  if (!err.rawPacket) return false;
  const end = Math.min(err.rawPacket.length, (err.bytesParsed ?? err.rawPacket.length) + 1);
  const lines = err.rawPacket.subarray(0, end).toString('latin1').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const method = /^([A-Z]+) \S/.exec(lines[i] as string)?.[1];
    if (method) return method === 'HEAD';
  }
  return false;
}

/**
 * A request Node's HTTP parser refuses (a request line with bytes outside ASCII, a malformed header,
 * headers over the size limit) never reaches Express; Node would answer it with a bare status line.
 * This answers it with problem+json like every other error, then drops the connection, which cannot
 * carry another request once the parser lost its place in it. For `server.on('clientError', …)`.
 */
export function answerClientError(err: ParserError, socket: Duplex): void {
  // Part of an answer may already be on the wire (or the peer is gone): a second one would corrupt it.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, code, title, detail] = PARSER_ERRORS[err.code ?? ''] ?? [
    400,
    'request_malformed',
    'Bad request',
    'The request is not valid HTTP/1.1',
  ];
  const body = JSON.stringify(new ApiError(status, code, detail, { title }).toProblem());
  const head = wasHead(err);
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/problem+json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      (head ? '' : body),
  );
}
