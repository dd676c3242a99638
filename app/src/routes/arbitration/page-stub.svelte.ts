// A stand-in for `$app/state`'s page in component tests: reactive, so a test can move to another deal
// the way a client-side navigation does.
export const page = $state({
  params: { id: '' } as Record<string, string>,
  url: new URL('http://app.test/arbitration'),
});
