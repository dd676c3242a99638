/**
 * The connect-src entries for the services the app talks to: each origin over HTTP(S) and, for the
 * live updates, the matching WebSocket scheme.
 */
export function connectSources(urls: ReadonlyArray<string | undefined>): string {
  const sources = new Set<string>();
  for (const url of urls) {
    if (!url) continue;
    const { origin, protocol, host } = new URL(url);
    sources.add(origin);
    sources.add(`${protocol === 'https:' ? 'wss' : 'ws'}://${host}`);
  }
  return [...sources].join(' ');
}
