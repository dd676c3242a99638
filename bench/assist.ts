// bench:assist — in one run: what the LLM proxy adds over calling the upstream directly (non-streaming
// p50/p99 and time to the first streamed token, with the answer relayed from the llm worker over Redis
// pub/sub), next to a bare in-process pass-through, the other design the issue names; notification
// throughput against a bare BullMQ worker making the same Bot API call, with the Bot API answering at once
// and at a realistic round trip; and the assist process's peak RSS. Rounds alternate; figures are medians
// of rounds and ratios are taken per round. Exits non-zero only when a path did not behave (an answer
// that is not the upstream's, an extra upstream call, a message lost or sent twice).

import { benchNotifyThroughput, NOTIFY_CONCURRENCY, type NotifyThroughput } from './assist-notify.ts';
import { type Batch, benchProxyLatency, PATHS, type PathName, type ProxyLatency } from './assist-proxy.ts';
import { median, percentile } from './stats.ts';

const PROXY_ROUNDS = 5;
const REQUESTS_PER_BATCH = 100;
const NOTIFY_ROUNDS = 3;
const NOTIFY_MIN_JOBS = 2_000;
/** At once, and about Telegram's real round trip from a nearby server. */
const BOT_API_LATENCIES_MS = [0, 30];
const REALISTIC_LATENCY_MS = 30;
const TARGET = { addedP50Ms: 10, throughputRatio: 0.7 };

const log = (m: string) => console.log(`[bench:assist] ${m}`);

export async function benchAssist(env: { databaseUrl: string; redisUrl: string }): Promise<void> {
  log(
    `proxy latency: api + workers + assist processes, ${PROXY_ROUNDS} rounds of ${REQUESTS_PER_BATCH} sequential requests per path`,
  );
  const proxy = await benchProxyLatency({
    env,
    rounds: PROXY_ROUNDS,
    requestsPerBatch: REQUESTS_PER_BATCH,
    log,
  });
  log(
    `notification throughput: >= ${NOTIFY_MIN_JOBS} jobs a round, concurrency ${NOTIFY_CONCURRENCY}, limits off`,
  );
  const notify = await benchNotifyThroughput({
    env,
    latenciesMs: BOT_API_LATENCIES_MS,
    rounds: NOTIFY_ROUNDS,
    minJobs: NOTIFY_MIN_JOBS,
    log,
  });
  if (report(proxy, notify)) process.exitCode = 1;
}

/** Prints the figures next to their targets; true when something did not behave. */
function report(proxy: ProxyLatency, notify: NotifyThroughput[]): boolean {
  const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
  const row = (name: string, value: string, target = '', verdict = '') =>
    console.log(`  ${name.padEnd(52)} ${value.padEnd(18)} ${target.padEnd(10)} ${verdict}`.trimEnd());
  const note = (text: string) => console.log(`        ${text}`);
  const ms = (x: number) => x.toFixed(1);

  const all = (path: PathName, kind: keyof Batch) => proxy.rounds.flatMap((r) => r[path][kind]);
  /** Per round: this path's percentile minus the direct path's; and the median of those. */
  const added = (path: PathName, kind: keyof Batch, p: number) => {
    const perRound = proxy.rounds.map((r) => percentile(r[path][kind], p) - percentile(r.direct[kind], p));
    return { median: median(perRound), perRound };
  };
  const names: Record<PathName, string> = {
    direct: 'upstream directly',
    proxy: 'through the proxy (llm queue + pub/sub relay)',
    inProcess: 'in-process pass-through (baseline)',
  };

  console.log(
    `\nbench:assist (api, workers, assist as processes with NODE_ENV=production and logs on; the LLM double ` +
      `answers a fixed one-line text; ${proxy.rounds.length} alternating rounds of ${proxy.requestsPerBatch} ` +
      `sequential requests per path and mode)`,
  );
  row('', 'figure', 'target');
  const relayCost: Record<keyof Batch, number> = { complete: 0, ttft: 0 };
  for (const [kind, title] of [
    ['complete', 'non-streaming, request to answer'],
    ['ttft', 'streaming, time to first token'],
  ] as const) {
    console.log(`  ${title} (p50 / p99, ms)`);
    for (const path of PATHS) {
      row(
        `  ${names[path]}`,
        `${ms(percentile(all(path, kind), 50))} / ${ms(percentile(all(path, kind), 99))}`,
      );
    }
    const a50 = added('proxy', kind, 50);
    const a99 = added('proxy', kind, 99);
    const inProc = added('inProcess', kind, 50);
    relayCost[kind] = a50.median - inProc.median;
    row(
      '  added by the proxy, p50 (median of rounds)',
      `${ms(a50.median)} ms`,
      `< ${TARGET.addedP50Ms} ms`,
      ok(a50.median < TARGET.addedP50Ms),
    );
    note(
      `per round: ${a50.perRound.map(ms).join(', ')} ms; p99 added ${ms(a99.median)} ms (median of rounds)`,
    );
    row('  added by the in-process pass-through, p50', `${ms(inProc.median)} ms`);
  }
  row('relay design over in-process streaming, TTFT p50', `+${ms(relayCost.ttft)} ms`);
  note(
    `non-streaming: +${ms(relayCost.complete)} ms. The baseline has no session check, quota, queue or cap, ` +
      'so this is the most the relay itself can cost',
  );
  const wrongCalls = proxy.problems.some((p) => p.includes('upstream calls'));
  row('upstream calls per request, every path and mode', wrongCalls ? 'not 1' : '1', '1', ok(!wrongCalls));
  const bad = proxy.failedRequests + proxy.wrongAnswers;
  row(
    'requests failed / answered wrongly',
    `${proxy.failedRequests} / ${proxy.wrongAnswers} of ${proxy.requests}`,
    '0 / 0',
    ok(bad === 0),
  );
  for (const p of proxy.problems.slice(0, 10)) note(p);
  if (proxy.problems.length > 10) note(`… and ${proxy.problems.length - 10} more`);
  row('assist process peak RSS', `${proxy.assistPeakRssMb.toFixed(0)} MB`);
  note(
    `${proxy.assistStartRssMb.toFixed(0)} MB once ready; api ${proxy.peakRssMb.api.toFixed(0)} MB, workers ` +
      `${proxy.peakRssMb.workers.toFixed(0)} MB peak`,
  );

  let failed = proxy.problems.length > 0;
  for (const n of notify) {
    const rate = (jobs: number, t: number) => jobs / (t / 1000);
    const notifyRates = n.rounds.map((r) => rate(r.jobs, r.notifyMs));
    const bareRates = n.rounds.map((r) => rate(r.jobs, r.bareMs));
    const ratios = n.rounds.map((_, i) => (notifyRates[i] as number) / (bareRates[i] as number));
    const ratio = median(ratios);
    const realistic = n.latencyMs === REALISTIC_LATENCY_MS;
    console.log(
      `  notification throughput, Bot API ${n.latencyMs === 0 ? 'answering at once' : `round trip ${n.latencyMs} ms`}` +
        ` (${n.rounds.length} rounds, medians)`,
    );
    row('  notifications worker', `${median(notifyRates).toFixed(0)} msg/s`);
    row('  bare BullMQ worker, same sendMessage', `${median(bareRates).toFixed(0)} msg/s`);
    row(
      '  ratio (median of per-round ratios)',
      ratio.toFixed(2),
      realistic ? `>= ${TARGET.throughputRatio}` : '(info)',
      realistic ? ok(ratio >= TARGET.throughputRatio) : '',
    );
    note(
      `per round: ${n.rounds
        .map(
          (r, i) =>
            `${r.jobs} jobs ${(notifyRates[i] as number).toFixed(0)}/${(bareRates[i] as number).toFixed(0)} msg/s ` +
            `= ${(ratios[i] as number).toFixed(2)}`,
        )
        .join('; ')}`,
    );
    for (const p of n.problems) note(p);
    failed ||= n.problems.length > 0;
  }
  note(
    `both workers: concurrency ${NOTIFY_CONCURRENCY}, NOTIFY_RATE_PER_SEC=0, NOTIFY_CHAT_INTERVAL_MS=0; ` +
      'the Bot API double in its own process',
  );
  return failed;
}
