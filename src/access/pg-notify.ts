import { createHash } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { Logger } from "../shared/log.js";
import type { Database } from "./store/schema.js";

/** The part of a `pg.Client` a LISTEN connection uses. */
export interface ListenClient {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  on(event: "notification", listener: (n: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  end(): Promise<unknown>;
}

/** Delays between attempts to get the LISTEN connection back: exponential with full jitter. */
export const LISTEN_BACKOFF = { baseMs: 250, maxMs: 10_000 } as const;

/** Options of `listenChannel`. */
export interface ListenOptions {
  channel: string;
  /** A new, unconnected client for each attempt. */
  newClient: () => ListenClient;
  /** Each payload received on the channel, in order. */
  onPayload: (payload: string) => void;
  /** After each LISTEN took effect; `gap` is true after a reconnect (payloads may have been missed). */
  onListening?: (gap: boolean) => void;
  /** When the connection is lost or an attempt to get it fails: payloads may be missed until the next `onListening`. */
  onLost?: () => void;
  log: Logger;
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => () => void;
}

/** A running LISTEN connection. */
export interface Listening {
  /** Settles when the first LISTEN took effect. */
  ready: Promise<void>;
  /** Ends the connection and stops reconnecting. */
  close(): Promise<void>;
}

/** The NOTIFY channel of one schema: each schema is its own cluster. Channel names have at most 63 bytes. */
export function channelOf(schema: string): string {
  const name = `fernlink_${schema}`;
  return name.length <= 63 ? name : `fernlink_${createHash("sha256").update(schema).digest("hex").slice(0, 40)}`;
}

/** Sends one payload to every node listening on `channel`, this one included. */
export async function notify(db: Kysely<Database>, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}

function backoffDelay(attempt: number, b: { baseMs: number; maxMs: number }, random: () => number): number {
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(b.baseMs / 2 + random() * (ceiling - b.baseMs / 2));
}

const defaultTimer = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/**
 * Keeps one dedicated connection LISTENing on `channel` (a pooled connection would be handed
 * to other queries and lose the LISTEN). A lost connection is replaced with backoff; a new
 * LISTEN after a loss says so through `onListening(true)`.
 */
export function listenChannel(options: ListenOptions): Listening {
  const backoff = options.backoff ?? LISTEN_BACKOFF;
  const random = options.random ?? Math.random;
  const setTimer = options.setTimer ?? defaultTimer;
  let closed = false;
  let client: ListenClient | undefined;
  let cancelRetry: (() => void) | undefined;
  let attempt = 0;
  let listenedBefore = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const retry = (reason: string): void => {
    if (closed || cancelRetry) return;
    const delay = backoffDelay(attempt++, backoff, random);
    options.log.warn("cluster change feed: connection lost, reconnecting", { reason, inMs: delay });
    cancelRetry = setTimer(() => {
      cancelRetry = undefined;
      void start();
    }, delay);
  };

  const start = async (): Promise<void> => {
    if (closed) return;
    const c = options.newClient();
    client = c;
    let failed = false;
    const fail = (reason: string): void => {
      if (failed || client !== c) return;
      failed = true;
      client = undefined;
      options.onLost?.();
      void c.end().catch(() => {});
      retry(reason);
    };
    c.on("error", (err) => fail(err.message));
    c.on("end", () => fail("connection ended"));
    c.on("notification", (n) => {
      if (client === c && n.channel === options.channel && n.payload !== undefined) options.onPayload(n.payload);
    });
    try {
      await c.connect();
      // Safe to quote by hand: channelOf builds the name from a checked schema name or a hash.
      await c.query(`listen "${options.channel}"`);
    } catch (err) {
      if (client !== c) void c.end().catch(() => {});
      fail(err instanceof Error ? err.message : String(err));
      return;
    }
    if (client !== c) {
      // Closed, or replaced, while connecting.
      void c.end().catch(() => {});
      return;
    }
    attempt = 0;
    const gap = listenedBefore;
    listenedBefore = true;
    if (gap) options.log.info("cluster change feed: listening again");
    markReady();
    options.onListening?.(gap);
  };

  void start();
  return {
    ready,
    async close() {
      closed = true;
      cancelRetry?.();
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
