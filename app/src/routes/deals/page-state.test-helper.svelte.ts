// A stand-in for `$app/state` in tests: `page.params` is reactive, so a test can move between routes.
export const page = $state<{ params: Record<string, string>; url: URL }>({
  params: {},
  url: new URL('http://app.test/'),
});
