// bench:assist's latency figures: the LLM proxy (assist → `llm` queue → workers' llm worker → upstream,
// answer relayed over Redis pub/sub) against calling the upstream directly, and against a bare in-process
// pass-through. api, workers and assist run as real processes from their entry points; the upstream is the
// LLM double answering a short fixed text, so every path makes exactly one upstream call (checked).
import { readFileSync } from 'node:fs';
import { ASSISTANT_MODEL } from '@amanat/core';
import OpenAI from 'openai';
import { API_PROCESS } from '../api/src/process-settings.ts';
import { ASSIST_PROCESS } from '../assist/src/process-settings.ts';
import { startLlmDouble } from '../devstack/llm-double.ts';
import { type Pipeline, startPipeline } from '../e2e/harness.ts';
import { WORKERS_PROCESS } from '../workers/src/process-settings.ts';
import { startInProcessProxy } from './assist-inprocess.ts';
import { peakRssMb } from './scanner-process.ts';

/** Resident memory now, MB. */
const rssMb = (pid: number | undefined) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

// Neutral on purpose: a claim about a deal's state or money that no tool result shows is filtered out of answers.
const ANSWER = 'Happy to help with your escrow deals. Ask me how payments, disputes or fees work.';
const QUESTION = 'What is the state of my deal?';
const UPSTREAM_MODEL = 'double-1';
/** Per path and mode, before the measured rounds: the services' JIT and connections settle. */
const WARM_UP_REQUESTS = 100;

export type PathName = 'direct' | 'proxy' | 'inProcess';
export const PATHS: readonly PathName[] = ['direct', 'proxy', 'inProcess'];

/** One batch of sequential requests on one path, ms per request. */
export interface Batch {
  /** Non-streaming: request to parsed answer. */
  complete: number[];
  /** Streaming: request to the first chunk with answer text. */
  ttft: number[];
}

export type ProxyRound = Record<PathName, Batch>;

export interface ProxyLatency {
  requestsPerBatch: number;
  rounds: ProxyRound[];
  /**
   * Failed requests, answers that were not the upstream's, and batches whose upstream call count was not
   * one per request.
   */
  problems: string[];
  /** Requests that failed, of `requests` made (warm-up included). */
  failedRequests: number;
  /** Answers whose text was not the upstream's. */
  wrongAnswers: number;
  requests: number;
  assistPeakRssMb: number;
  /** The assist process's resident memory once ready, before any request. */
  assistStartRssMb: number;
  peakRssMb: { api: number; workers: number };
}

interface Clients {
  direct: OpenAI;
  proxy: OpenAI;
  inProcess: OpenAI;
}

const modelOf: Record<PathName, string> = {
  direct: UPSTREAM_MODEL,
  proxy: ASSISTANT_MODEL,
  inProcess: UPSTREAM_MODEL,
};

async function completeOnce(client: OpenAI, path: PathName): Promise<{ ms: number; text: string }> {
  const t0 = performance.now();
  const r = await client.chat.completions.create({
    model: modelOf[path],
    messages: [{ role: 'user', content: QUESTION }],
  });
  return { ms: performance.now() - t0, text: r.choices[0]?.message.content ?? '' };
}

async function streamOnce(client: OpenAI, path: PathName): Promise<{ ms: number; text: string }> {
  const t0 = performance.now();
  const stream = await client.chat.completions.create({
    model: modelOf[path],
    messages: [{ role: 'user', content: QUESTION }],
    stream: true,
  });
  let ttft = Number.NaN;
  let text = '';
  // Read to the end, so the next request never overlaps this one's tail.
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta?.content ?? '';
    if (piece !== '' && Number.isNaN(ttft)) ttft = performance.now() - t0;
    text += piece;
  }
  return { ms: ttft, text };
}

export async function benchProxyLatency(opts: {
  env: { databaseUrl: string; redisUrl: string };
  rounds: number;
  requestsPerBatch: number;
  log: (m: string) => void;
}): Promise<ProxyLatency> {
  const { log } = opts;
  const double = await startLlmDouble({ model: UPSTREAM_MODEL });
  double.respond(() => ({ text: ANSWER }));
  const inProcess = await startInProcessProxy({
    baseUrl: double.baseUrl,
    apiKey: double.apiKey,
    model: UPSTREAM_MODEL,
  });
  // The harness makes its schema and reads Redis from the environment, as tests get them from `npm test`.
  process.env.DATABASE_URL = opts.env.databaseUrl;
  process.env.REDIS_URL = opts.env.redisUrl;
  let pipeline: Pipeline | null = null;
  try {
    const production = { NODE_ENV: 'production', LOG_LEVEL: 'info' };
    pipeline = await startPipeline({
      rpcUrls: {},
      env: {
        api: production,
        workers: {
          ...production,
          LLM_PROVIDERS: JSON.stringify([
            { name: 'double', baseUrl: double.baseUrl, apiKey: double.apiKey, model: UPSTREAM_MODEL },
          ]),
          LLM_CONCURRENCY: '8',
        },
        assist: { ...production, LLM_REQUESTS_PER_MIN: '10000', LLM_DAILY_TOKENS: '100000000' },
      },
      processSettings: { api: API_PROCESS, assist: ASSIST_PROCESS, workers: WORKERS_PROCESS },
    });
    await pipeline.start('api');
    await pipeline.start('workers');
    const assist = await pipeline.start('assist');
    const assistStartRssMb = rssMb(assist.child.pid);
    const session = await pipeline.signIn(700_000_001);
    const client = (baseURL: string, apiKey: string) => new OpenAI({ baseURL, apiKey, maxRetries: 0 });
    const clients: Clients = {
      direct: client(double.baseUrl, double.apiKey),
      proxy: client(`${pipeline.assistUrl}/v1`, session),
      inProcess: client(inProcess.baseUrl, 'unused'),
    };

    const problems: string[] = [];
    let failedRequests = 0;
    let wrongAnswers = 0;
    const batch = async (
      path: PathName,
      kind: keyof Batch,
      n: number,
      round: number | 'warm-up',
    ): Promise<number[]> => {
      const before = double.requests.length;
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        let r: { ms: number; text: string };
        try {
          r = await (kind === 'complete' ? completeOnce : streamOnce)(clients[path], path);
        } catch (err) {
          // A failed request is no latency sample; it is counted and shown, and fails the run.
          failedRequests++;
          const e = err as { status?: number; code?: string; message?: string };
          problems.push(
            `round ${round}, ${path} ${kind}, request ${i + 1}: failed (${e.status ?? '-'} ${e.code ?? ''}: ${e.message ?? String(err)})`,
          );
          continue;
        }
        if (r.text !== ANSWER) {
          wrongAnswers++;
          problems.push(`round ${round}, ${path} ${kind}: answer ${JSON.stringify(r.text.slice(0, 80))}`);
        }
        ms.push(r.ms);
      }
      const calls = double.requests.length - before;
      if (calls !== n)
        problems.push(`round ${round}, ${path} ${kind}: ${calls} upstream calls for ${n} requests`);
      return ms;
    };
    const round = async (n: number, label: number | 'warm-up'): Promise<ProxyRound> => {
      const r = {} as ProxyRound;
      for (const path of PATHS) r[path] = { complete: await batch(path, 'complete', n, label), ttft: [] };
      for (const path of PATHS) r[path].ttft = await batch(path, 'ttft', n, label);
      return r;
    };

    log('proxy latency: warm-up');
    await round(WARM_UP_REQUESTS, 'warm-up');
    const rounds: ProxyRound[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      log(`proxy latency: round ${i + 1} of ${opts.rounds}`);
      rounds.push(await round(opts.requestsPerBatch, i + 1));
    }
    const pidOf = (name: 'api' | 'workers') => pipeline?.services.get(name)?.child.pid;
    return {
      requestsPerBatch: opts.requestsPerBatch,
      rounds,
      problems,
      failedRequests,
      wrongAnswers,
      requests: (opts.rounds * opts.requestsPerBatch + WARM_UP_REQUESTS) * PATHS.length * 2,
      assistPeakRssMb: peakRssMb(assist.child.pid),
      assistStartRssMb,
      peakRssMb: { api: peakRssMb(pidOf('api')), workers: peakRssMb(pidOf('workers')) },
    };
  } catch (err) {
    for (const s of pipeline?.services.values() ?? [])
      console.error(`--- ${s.name} ---\n${s.output().slice(-4000)}`);
    throw err;
  } finally {
    await pipeline?.close();
    await inProcess.close();
    await double.close();
  }
}
