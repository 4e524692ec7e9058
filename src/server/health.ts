import type http from "node:http";
import type http2 from "node:http2";
import { type Kysely, sql } from "kysely";
import type { Database } from "../access/store/schema.js";

/** The probes of load balancers and orchestrators on the one port: no session, no details. */
export const HEALTH_PATHS = { alive: "/healthz", ready: "/readyz" } as const;

/** A ready check slower than this counts as not ready: a hung store must not hang the prober. */
export const READY_TIMEOUT_MS = 2_000;
/** Answers within this long of a check reuse it, so a flood of probes costs the store one query a second. */
const READY_CACHE_MS = 1_000;

/** Whether the node can serve: its store answers, and its relay (when it has one) takes agents. */
export interface ReadinessParts {
  db: Kysely<Database>;
  /** Undefined for a node without a relay (`--no-relay`). */
  relay?: { readonly draining: boolean } | undefined;
  now?: () => number;
}

/** Builds the ready check: one store round trip at most per second, however many probes come. */
export function readiness(parts: ReadinessParts): () => Promise<boolean> {
  const now = parts.now ?? Date.now;
  let last: { at: number; answer: Promise<boolean> } | undefined;
  const check = async (): Promise<boolean> => {
    if (parts.relay?.draining) return false;
    const timeout = new Promise<false>((resolve) => setTimeout(resolve, READY_TIMEOUT_MS, false).unref());
    const query = sql`select 1`.execute(parts.db).then(
      () => true,
      () => false,
    );
    return Promise.race([query, timeout]);
  };
  return () => {
    const at = now();
    if (!last || at - last.at >= READY_CACHE_MS) last = { at, answer: check() };
    return last.answer;
  };
}

/**
 * Answers /healthz (the process runs: always 200) and /readyz (200 or 503) and returns true, or
 * returns false for any other path. The body is one word: probes need no details, and the port
 * is open to the world.
 */
export function answerHealth(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  ready: () => Promise<boolean>,
): boolean {
  const path = (req.url ?? "").split("?")[0];
  if (path !== HEALTH_PATHS.alive && path !== HEALTH_PATHS.ready) return false;
  const send = (ok: boolean): void => {
    res.writeHead(ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
    if (req.method === "HEAD") res.end();
    else res.end(ok ? "ok\n" : "unavailable\n");
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" });
    res.end();
    return true;
  }
  if (path === HEALTH_PATHS.alive) send(true);
  else void ready().then(send);
  return true;
}
