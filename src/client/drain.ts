import type { Listener } from "./forwarder.js";

/** How long open connections may take to finish after Ctrl-C before they are cut. */
export const DRAIN_MS = 10_000;

/**
 * Stops every listener taking connections, lets the open ones finish until `graceMs` passes or
 * `cut` resolves (a second Ctrl-C), then cuts what is left. Returns how many were cut.
 */
export async function drainListeners(
  listeners: readonly Listener[],
  options: { graceMs: number; cut: Promise<unknown>; onWait?: (open: number) => void },
): Promise<number> {
  for (const l of listeners) l.stopAccepting();
  const open = (): number => listeners.reduce((n, l) => n + l.connections.size, 0);
  if (open() > 0 && options.graceMs > 0) {
    options.onWait?.(open());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.graceMs)));
    await Promise.race([Promise.all(listeners.map((l) => l.connections.whenEmpty())), deadline, options.cut]);
    clearTimeout(timer);
  }
  const cut = open();
  await Promise.all(listeners.map((l) => l.close()));
  return cut;
}
