/**
 * A JSON client for a running API, for end-to-end tests and benchmarks that drive it over HTTP: it sends
 * the bearer token and body given and fails with the API's answer when the status is not 2xx.
 */
export function apiClient(baseUrl: string) {
  return async (method: string, path: string, token: string | null, body?: unknown) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json as Record<string, unknown>;
  };
}
