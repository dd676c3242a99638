import type { FuzzAnswer, FuzzRequest } from './model.ts';

/** A V8 stack frame or a path of this machine: neither may ever leave the process. */
const STACK_TRACE =
  /\n\s+at .+:\d+:\d+|\bat (?:async )?\S+ \((?:file:\/\/|node:|\/).+:\d+:\d+\)|node:internal|node_modules\/|\/work\//;

const headerText = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value.join(', ') : (value ?? '');

/**
 * bull-board's own API, once an operator is through the gate, answers its UI in its own error format
 * (`{"error":{"key":…}}`); that is a third-party protocol for trusted callers, not the Amanat API.
 */
const boardAnswerToOperator = (req: FuzzRequest) =>
  /^\/admin\/queues\/./i.test(req.path) &&
  ((req.credential.kind === 'session' && req.credential.who === 'operator') ||
    req.boardCookie === 'operator');

/**
 * What is wrong with an answer, if anything: a 5xx, an error that is not problem+json (with type,
 * title, status equal to the HTTP status and a string code), a redirect, or a stack trace in the body.
 */
export function answerProblems(req: FuzzRequest, answer: FuzzAnswer): string[] {
  const problems: string[] = [];
  const { status } = answer;
  const body = answer.body.toString('utf8');
  if (status >= 500) problems.push(`status ${status}`);
  if (STACK_TRACE.test(body)) problems.push('the body holds a stack trace or a server path');
  if (boardAnswerToOperator(req)) return problems;
  if (status < 200 || (status >= 300 && status < 400 && status !== 304)) problems.push(`status ${status}`);
  if (status < 400) return problems;

  const type = headerText(answer.headers['content-type']);
  if (!type.startsWith('application/problem+json'))
    problems.push(`content type "${type}" is not problem+json`);
  if (req.method === 'HEAD') return problems;
  let problem: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      problem = parsed as Record<string, unknown>;
  } catch {}
  if (!problem) return [...problems, 'the error body is not a JSON object'];
  if (typeof problem.type !== 'string' || problem.type.length === 0) problems.push('problem has no type');
  if (typeof problem.title !== 'string' || problem.title.length === 0) problems.push('problem has no title');
  if (problem.status !== status)
    problems.push(`problem status ${String(problem.status)} is not the HTTP status`);
  if (typeof problem.code !== 'string' || problem.code.length === 0) problems.push('problem has no code');
  return problems;
}

/** The request and answer in a form a person can replay from the failure report. */
export function describeExchange(
  req: FuzzRequest,
  answer: FuzzAnswer | null,
  problems: readonly string[],
): string {
  const shown = (text: string, max: number) =>
    text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
  const headers = Object.entries(req.headers)
    .map(([name, value]) => `    ${name}: ${shown(JSON.stringify(value), 160)}`)
    .join('\n');
  const body = req.body === null ? '(none)' : shown(JSON.stringify(req.body.toString('latin1')), 300);
  return [
    `${problems.join('; ')}`,
    `  target: ${req.target}${req.defect ? ` (write guard: ${req.defect})` : ''}`,
    `  ${req.method} ${shown(req.path, 300)}`,
    headers,
    `  body (${req.bodyKind}${req.chunked ? ', chunked' : ''}): ${body}`,
    answer
      ? `  -> ${answer.status} ${headerText(answer.headers['content-type'])} ${shown(answer.body.toString('utf8'), 400)}`
      : '  -> no answer',
  ]
    .filter((line) => line.length > 0)
    .join('\n');
}
