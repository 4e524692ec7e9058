import { z } from "zod";
import { NameSchema } from "./api.js";
import type { RouteDoc } from "./openapi.js";

/** The routes of on-demand devices. */
export const ON_DEMAND_ROUTES = {
  /** Agent (mTLS): "I am here; does anyone want my tunnel?" Short: it is paid for on every check-in. */
  checkIn: "/api/v1/agent/check-in",
  /** User: ask for an on-demand device's tunnel and learn when its next check-in is due. */
  deviceWake: "/api/v1/devices/:name/wake",
} as const;

/** The longest check-in interval an agent may announce: a day. */
export const MAX_CHECK_IN_SECONDS = 86_400;

/** POST /api/v1/agent/check-in — agent → access: the interval it keeps (seconds). */
export const CheckInRequest = z.strictObject({
  every: z.number().int().min(1).max(MAX_CHECK_IN_SECONDS),
});
export type CheckInRequest = z.infer<typeof CheckInRequest>;

/** The answer to a check-in: whether someone wants the device's tunnel up now. */
export const CheckInResponse = z.strictObject({ wanted: z.boolean() });
export type CheckInResponse = z.infer<typeof CheckInResponse>;

/** POST /api/v1/devices/:name/wake — the device's tunnel is wanted; where it stands. */
export const WakeResponse = z.strictObject({
  device: NameSchema,
  online: z.boolean(),
  /** The agent checks in on demand (it did within a few of its intervals). */
  onDemand: z.boolean(),
  /** Its check-in interval in seconds; null when it is not on demand. */
  checkInSeconds: z.number().int().nullable(),
  /** Its last check-in (ISO 8601), null when it never checked in. */
  lastCheckIn: z.string().nullable(),
  /** When its next check-in is due (ISO 8601); null when it is not on demand. */
  nextCheckIn: z.string().nullable(),
});
export type WakeResponse = z.infer<typeof WakeResponse>;

/** OpenAPI entries of these routes. */
export const ON_DEMAND_ROUTE_DOCS: RouteDoc[] = [
  {
    method: "post",
    path: ON_DEMAND_ROUTES.checkIn,
    summary: "An on-demand agent checks in: answered with whether someone wants its tunnel now",
    auth: "device-certificate",
    request: CheckInRequest,
    response: CheckInResponse,
  },
  {
    method: "post",
    path: ON_DEMAND_ROUTES.deviceWake,
    summary: "Ask for an on-demand device's tunnel (connect level); answered with its state and when its next check-in is due",
    auth: "session",
    response: WakeResponse,
  },
];
