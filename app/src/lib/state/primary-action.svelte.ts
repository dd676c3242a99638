/**
 * Each screen's primary action, declared once: in Telegram it is the main button, on the web a button
 * at the bottom of the screen (both rendered from this state). A screen sets it while it is shown.
 */
export interface PrimaryAction {
  label: string;
  run: () => unknown | Promise<unknown>;
  disabled?: boolean;
}

class PrimaryActionState {
  current = $state<PrimaryAction | null>(null);
  busy = $state(false);

  /** Run the action once at a time; the button shows progress meanwhile. */
  async trigger(): Promise<void> {
    const action = this.current;
    if (!action || action.disabled || this.busy) return;
    this.busy = true;
    try {
      await action.run();
    } finally {
      this.busy = false;
    }
  }
}

export const primaryAction = new PrimaryActionState();

/**
 * For a screen's script: `usePrimaryAction(() => ({ label, run, disabled }))` keeps the action in step
 * with the screen's state and removes it when the screen goes away.
 */
export function usePrimaryAction(get: () => PrimaryAction | null): void {
  $effect(() => {
    primaryAction.current = get();
    return () => {
      primaryAction.current = null;
    };
  });
}
