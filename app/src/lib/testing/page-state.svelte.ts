// A stand-in for `$app/state` in component tests: `page` is reactive, so a test can move to another
// route the way a client-side navigation does. Tests only.
export const page = $state<{ params: Record<string, string>; url: URL }>({
  params: {},
  url: new URL('http://app.test/'),
});
