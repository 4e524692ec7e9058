import { forgetAccountHere } from "./access-changes.js";
import type { AccessContext } from "./context.js";
import { accountStates } from "./store/accounts.js";

/**
 * How often each node reads which accounts are disabled or gone. The operator's command
 * writes the store from another process (SQLite or PostgreSQL alike) and tells no node, so
 * every node looks for itself: a disabled account's tunnels and streams end within this time.
 */
export const ACCOUNT_WATCH_INTERVAL_MS = 1000;

/** Closes what this node holds for an account that may no longer use it: its tunnels and streams. */
export function closeAccountHere(ctx: AccessContext, accountId: string): { tunnels: number; streams: number } {
  const streams = ctx.presence.streams(accountId);
  for (const stream of streams) ctx.presence.cutStream(stream.streamId);
  const tunnels = ctx.presence.tunnels(accountId);
  for (const tunnel of tunnels) ctx.presence.disconnect(tunnel.deviceId);
  return { tunnels: tunnels.length, streams: streams.length };
}

/**
 * Reads every account's state each `intervalMs`. An account whose state changed has its cached
 * decisions dropped (a disabled account's sessions are then refused, an enabled one's accepted
 * again); a disabled account's tunnels and streams on this node are closed on every round, so
 * one that slipped in before the cache was dropped does not stay; a removed account's once.
 * Returns a stop function.
 */
export function watchAccountStates(ctx: AccessContext, intervalMs = ACCOUNT_WATCH_INTERVAL_MS): () => void {
  let known: Map<string, string | null> | undefined;
  let running = false;
  const round = async (): Promise<void> => {
    const states = new Map((await accountStates(ctx.db)).map((a) => [a.id, a.disabled_at]));
    const shut: string[] = [];
    for (const [id, disabledAt] of states) {
      const changed = known?.has(id) && known.get(id) !== disabledAt;
      if (changed) {
        forgetAccountHere(ctx, id);
        ctx.log.info(disabledAt === null ? "account enabled" : "account disabled: closing its tunnels and streams", { account: id });
      }
      if (disabledAt !== null) shut.push(id);
    }
    for (const id of known?.keys() ?? []) {
      if (states.has(id)) continue;
      forgetAccountHere(ctx, id);
      ctx.log.info("account removed: closing its tunnels and streams", { account: id });
      shut.push(id);
    }
    known = states;
    for (const id of shut) closeAccountHere(ctx, id);
  };
  const tick = (): void => {
    if (running) return;
    running = true;
    void ctx.work
      .track(round())
      .catch((err: unknown) => ctx.log.error("cannot read the accounts' states", { error: String(err) }))
      .finally(() => (running = false));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  // At once as well: a node started while an account is disabled closes what it is given from the start.
  tick();
  return () => clearInterval(timer);
}
