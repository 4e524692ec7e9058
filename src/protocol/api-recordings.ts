import { z } from "zod";
import { ROUTES } from "./api.js";
import type { RouteDoc } from "./openapi.js";

/**
 * Recorded targets and their recordings: an admin names a device's `host:port` whose streams the
 * relay keeps the bytes of (each way, the newest RECORDING_BYTES per stream, the newest
 * RECORDINGS_PER_ACCOUNT streams per account, in the memory of the node that carried them).
 */

/** The bytes kept of one recorded stream. */
export const RECORDING_BYTES = 1024 * 1024;
/** Recorded streams kept per account; the oldest goes first. */
export const RECORDINGS_PER_ACCOUNT = 20;
/** Recorded targets per device. */
export const RECORDED_TARGETS_MAX = 32;

/** POST /api/v1/devices/:name/record — admin: record a target's streams, or stop. */
export const RecordSwitch = z.strictObject({ target: z.string().min(3).max(300), on: z.boolean() });
export type RecordSwitch = z.infer<typeof RecordSwitch>;

/** The device's recorded targets after a change. */
export const RecordedTargets = z.strictObject({ device: z.string(), targets: z.array(z.string()) });
export type RecordedTargets = z.infer<typeof RecordedTargets>;

/** One recorded stream, as `recording list` shows it. */
export const RecordingInfo = z.strictObject({
  /** The stream's id (as in the audit and `live list`). */
  id: z.string(),
  user: z.string(),
  device: z.string(),
  target: z.string(),
  start: z.string(),
  /** Null while the stream is open. */
  end: z.string().nullable(),
  /** Payload bytes held (both ways). */
  bytes: z.number().int(),
  /** Older payload bytes dropped to stay within the cap. */
  dropped: z.number().int(),
});
export type RecordingInfo = z.infer<typeof RecordingInfo>;

/** GET /api/v1/recordings/:id — admin: the recording as text, one line per chunk (relay/data-log.ts). */
export const RecordingText = z.strictObject({ id: z.string(), text: z.string() });
export type RecordingText = z.infer<typeof RecordingText>;

/** What the access service reads of the recordings this node's relay keeps. */
export interface RecordingReader {
  list(accountId: string): RecordingInfo[];
  /** The recording as text, or undefined when this node keeps none by that id for the account. */
  text(accountId: string, id: string): string | undefined;
}

/** The recording routes, for the OpenAPI document. */
export const RECORDING_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: "post",
    path: ROUTES.deviceRecord,
    summary: "Record the streams to one of the device's targets, or stop (admin)",
    auth: "session",
    role: "admin",
    request: RecordSwitch,
    response: RecordedTargets,
  },
  {
    method: "get",
    path: ROUTES.recordings,
    summary: "The recorded streams this node keeps for the account, newest first (admin)",
    auth: "session",
    role: "admin",
    response: z.array(RecordingInfo),
  },
  {
    method: "get",
    path: ROUTES.recording,
    summary: "One recorded stream's bytes, each way, as hex lines (admin)",
    auth: "session",
    role: "admin",
    response: RecordingText,
  },
];
