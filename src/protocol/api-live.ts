import { z } from "zod";
import { ROUTES } from "./api.js";
import type { RouteDoc } from "./openapi.js";

/** One agent tunnel connected right now. */
export const LiveTunnel = z.strictObject({
  device: z.string(),
  /** The agent's address as the relay sees it. */
  address: z.string(),
  /** When the tunnel came up (ISO 8601). */
  since: z.string(),
  relay: z.string(),
});
export type LiveTunnel = z.infer<typeof LiveTunnel>;

/** GET /api/v1/live/tunnels — admin: the account's tunnels, sorted by device. */
export const LiveTunnels = z.strictObject({ tunnels: z.array(LiveTunnel) });
export type LiveTunnels = z.infer<typeof LiveTunnels>;

/** One stream carried right now, with its byte counts so far. */
export const LiveStreamInfo = z.strictObject({
  id: z.string(),
  user: z.string(),
  device: z.string(),
  /** `host:port` as the user asked for it. */
  target: z.string(),
  /** The user's address. */
  source: z.string(),
  since: z.string(),
  bytesUp: z.number().int().nonnegative(),
  bytesDown: z.number().int().nonnegative(),
});
export type LiveStreamInfo = z.infer<typeof LiveStreamInfo>;

/** GET /api/v1/live/streams — admin: the account's streams, oldest first. */
export const LiveStreams = z.strictObject({ streams: z.array(LiveStreamInfo) });
export type LiveStreams = z.infer<typeof LiveStreams>;

/** The `:id` of DELETE /api/v1/live/streams/:id: a stream id as the relay makes them. */
export const StreamIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, "a stream id is letters, digits, '.', '_' and '-'");

/** One relay, with the caller's account's tunnels and streams on it (never other accounts'). */
export const RelayStatus = z.strictObject({ id: z.string(), tunnels: z.number().int(), streams: z.number().int() });
export type RelayStatus = z.infer<typeof RelayStatus>;

/** GET /api/v1/status — admin: server version and uptime, and the account's live counts. */
export const StatusResponse = z.strictObject({
  version: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number().int().nonnegative(),
  relays: z.array(RelayStatus),
  /** The account's devices with a tunnel up. */
  agents: z.number().int(),
  /** The account's streams open now. */
  streams: z.number().int(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

/**
 * GET /api/v1/events — the server-sent events, by name, with the JSON `data` each carries.
 * They only say that something changed: clients refetch the REST lists.
 */
export const LIVE_EVENTS = {
  /** A device of the caller's account (one the caller may view) went online or offline. */
  devices: z.strictObject({ device: z.string(), online: z.boolean() }),
  /** A stream opened or closed: for admins, the account's count after it; for members, their own. */
  streams: z.strictObject({ count: z.number().int() }),
  /** Every couple of seconds while such streams are live: their count and bytes so far. */
  bytes: z.strictObject({ count: z.number().int(), bytesUp: z.number().int(), bytesDown: z.number().int() }),
} as const;
export type LiveEventName = keyof typeof LIVE_EVENTS;

const Ok = z.strictObject({ ok: z.literal(true) });

/** The live and status routes, for the OpenAPI document. */
export const LIVE_ROUTE_DOCS: readonly RouteDoc[] = [
  { method: "get", path: ROUTES.liveTunnels, summary: "Agent tunnels connected now, by device (admin)", auth: "session", role: "admin", response: LiveTunnels },
  { method: "get", path: ROUTES.liveStreams, summary: "Streams carried now, with bytes so far (admin)", auth: "session", role: "admin", response: LiveStreams },
  { method: "delete", path: ROUTES.liveStream, summary: "Cut a live stream of the account (admin)", auth: "session", role: "admin", response: Ok },
  {
    method: "get",
    path: ROUTES.status,
    summary: "Server version and uptime, relays, and the account's tunnel and stream counts (admin)",
    auth: "session",
    role: "admin",
    response: StatusResponse,
  },
  {
    method: "get",
    path: ROUTES.events,
    summary: "text/event-stream of changes: `devices`, `streams`, `bytes` (data as JSON), and a heartbeat comment; clients refetch on each",
    auth: "session",
  },
];
