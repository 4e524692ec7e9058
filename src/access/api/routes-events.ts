import { streamSSE } from "hono/streaming";
import { ROUTES } from "../../protocol/api.js";
import type { LiveEventName } from "../../protocol/api-live.js";
import { canView } from "../access-decision.js";
import { deviceAccess } from "../access-model.js";
import type { ChangeEvent } from "../change-feed.js";
import type { AccessContext, Principal } from "../context.js";
import { streamTotals, viewerStreams } from "../live-view.js";
import { authenticate } from "../sessions.js";
import { getDevice } from "../store/devices.js";
import type { RouteKit } from "./route-kit.js";

/** How often the event stream sends byte counts and heartbeats; tests shorten them. */
export interface EventTiming {
  /** `bytes` events while streams are live. */
  bytesIntervalMs: number;
  /** A comment line so proxies keep the response open; the session is checked again each time. */
  heartbeatMs: number;
}

/** The event stream's timing in production. */
export const EVENT_TIMING: EventTiming = { bytesIntervalMs: 2_000, heartbeatMs: 15_000 };

/** How long a browser waits before it reconnects after the stream ended. */
const RETRY_MS = 5_000;

/** One server-sent event whose data is JSON (one line, so no `data:` splitting is needed). */
export function sseFrame(name: LiveEventName, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * What is waiting to be written. Entries are keyed so a burst coalesces (the newest state of
 * a device, one `streams`, one `bytes`): a slow reader costs a few entries, never a backlog.
 * Each renders when written, so counts are read after the relay has settled.
 */
class Outbox {
  private readonly pending = new Map<string, () => string | undefined>();
  private wake: (() => void) | undefined;
  ended = false;

  /** `onEnd` runs once, at the end, even while a write is stuck on a client that stopped reading. */
  constructor(private readonly onEnd: () => void) {}

  put(key: string, render: () => string | undefined): void {
    if (this.ended) return;
    this.pending.set(key, render);
    this.wake?.();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake?.();
    this.onEnd();
  }

  /** Waits for entries (or the end) and takes them all. */
  async take(): Promise<string[]> {
    while (!this.ended && this.pending.size === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    if (this.ended) return [];
    const frames = [...this.pending.values()].map((render) => render()).filter((f): f is string => f !== undefined);
    this.pending.clear();
    return frames;
  }
}

/** Whether `who` may see a device's tunnel change: admins see all of the account, members what a rule shows them. */
async function mayView(ctx: AccessContext, who: Principal, deviceId: string): Promise<boolean> {
  if (who.role === "admin") return true;
  const device = await getDevice(ctx.db, deviceId);
  return device !== undefined && device.account_id === who.accountId && canView(await deviceAccess(ctx, who, device));
}

/**
 * GET /api/v1/events for any signed-in user: a text/event-stream of the caller's account's
 * changes, filtered to what the caller may see. It ends when the session ends (checked each
 * heartbeat), when the client goes away, and when the server closes the change feed.
 */
export function registerEventRoutes({ app, ctx, auth }: RouteKit, timing: EventTiming = EVENT_TIMING): void {
  app.get(ROUTES.events, auth, (c) => {
    // The bearer token or session cookie the session middleware accepted.
    const token = c.get("token");
    const source = c.get("source");
    let who = c.get("principal");
    const timers: NodeJS.Timeout[] = [];
    let unsubscribe = (): void => {};
    const outbox = new Outbox(() => {
      for (const timer of timers) clearInterval(timer);
      unsubscribe();
    });
    const streamsFrame = (): string => sseFrame("streams", { count: viewerStreams(ctx.presence, who).length });

    const onChange = (event: ChangeEvent): void => {
      if (event.kind === "streams") {
        if (who.role === "admin" || event.userId === who.userId) outbox.put("streams", streamsFrame);
        return;
      }
      const frame = sseFrame("devices", { device: event.device, online: event.online });
      mayView(ctx, who, event.deviceId).then(
        (ok) => ok && outbox.put(`devices:${event.device}`, () => frame),
        (err: unknown) => ctx.log.error("event stream: cannot check device access", { error: String(err) }),
      );
    };
    // Subscribed before the response starts, so a refusal (too many streams) is a plain 429.
    unsubscribe = ctx.changes.subscribe(who.accountId, { onChange, onClose: () => outbox.end() });

    let checking = false;
    const heartbeat = (): void => {
      if (checking) return;
      checking = true;
      authenticate(ctx, token, source, { touch: false })
        .then((fresh) => {
          who = fresh;
          outbox.put("heartbeat", () => ": heartbeat\n\n");
        })
        .catch(() => outbox.end())
        .finally(() => (checking = false));
    };
    const bytes = (): void => {
      const totals = streamTotals(viewerStreams(ctx.presence, who));
      if (totals.count > 0) outbox.put("bytes", () => sseFrame("bytes", totals));
    };

    // A closed feed (server shutting down) ended the outbox already: then no timers at all.
    if (!outbox.ended) timers.push(setInterval(heartbeat, timing.heartbeatMs).unref(), setInterval(bytes, timing.bytesIntervalMs).unref());

    const res = streamSSE(c, async (stream) => {
      stream.onAbort(() => outbox.end());
      c.req.raw.signal.addEventListener("abort", () => outbox.end(), { once: true });
      try {
        await stream.write(`retry: ${RETRY_MS}\n\n`);
        while (!outbox.ended) {
          for (const frame of await outbox.take()) {
            if (outbox.ended) break;
            await stream.write(frame);
          }
        }
      } finally {
        outbox.end();
      }
    });
    res.headers.set("cache-control", "no-store");
    // streamSSE sets these HTTP/1 connection headers; over HTTP/2 (browsers) Node refuses the
    // whole response for them, and Node adds chunked framing to HTTP/1.1 by itself.
    res.headers.delete("transfer-encoding");
    res.headers.delete("connection");
    return res;
  });
}
