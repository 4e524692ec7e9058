import type { AccessContext } from "./context.js";
import { StreamCache } from "./stream-cache.js";

/**
 * Keeps the stream cache exact: every change that can alter who may open which stream (a
 * grant as well as a withdrawal, a session's or token's end, a policy) calls `accessChanged`
 * once it is committed. This node's entries of the account go at once, before the API call
 * returns; every other node of a cluster drops its own when the "access-changed" notice
 * reaches it.
 */

// One cache per store: the access context is built once per server, but keying by its
// database lets every function holding the context reach the same cache without a new field.
const caches = new WeakMap<object, StreamCache>();

/** The stream cache of the store `ctx` works on, made on first use. */
export function streamCacheOf(ctx: AccessContext): StreamCache {
  let cache = caches.get(ctx.db);
  if (!cache) {
    cache = new StreamCache({ now: () => ctx.now().getTime() });
    caches.set(ctx.db, cache);
  }
  return cache;
}

/** Drops this node's cached entries of the account (a notice from another node, or a change here). */
export function forgetAccountHere(ctx: AccessContext, accountId: string): void {
  caches.get(ctx.db)?.forgetAccount(accountId);
}

/** Drops this node's whole cache and keeps nothing while change notices may be missed (the LISTEN connection is down). */
export function suspendCacheHere(ctx: AccessContext): void {
  caches.get(ctx.db)?.suspend();
}

/** Drops this node's whole cache (it may have missed notices) and keeps entries again. */
export function resumeCacheHere(ctx: AccessContext): void {
  caches.get(ctx.db)?.resume();
}

/**
 * After a committed change to the account's sessions, tokens, users, devices, groups, pools,
 * rules or policy: drops this node's entries now and tells the other nodes; settles once the
 * notice is sent, so the other nodes have it before the API call that made the change returns.
 */
export async function accessChanged(ctx: AccessContext, accountId: string): Promise<void> {
  forgetAccountHere(ctx, accountId);
  await ctx.cluster?.tell({ type: "access-changed", accountId });
}
