import { z } from "zod";
import type { ChangeEvent } from "./change-feed.js";

/**
 * The messages access nodes of one cluster send each other over PostgreSQL NOTIFY. Each
 * carries `from`, the sending node's id, so a node skips its own.
 */

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
export const CLUSTER_PAYLOAD_MAX_BYTES = 7999;

const id = z.string().min(1).max(200);

const changeEvent = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("devices"), accountId: id, deviceId: id, device: z.string().max(200), online: z.boolean() }),
  z.strictObject({ kind: z.literal("streams"), accountId: id, streamId: id, userId: id, change: z.enum(["opened", "closed", "cut"]) }),
]) satisfies z.ZodType<ChangeEvent>;

/** A stream as the node that cut it describes it, for the asking node's audit record and event. */
const closedStream = z.strictObject({ streamId: id, userId: id, userName: z.string().max(200), deviceName: z.string().max(200), target: z.string().max(300) });

const message = z.discriminatedUnion("type", [
  /** Any node, on each tunnel or stream change: for the portal's live events on every node. */
  z.strictObject({ type: z.literal("event"), from: id, event: changeEvent }),
  /** A node that removed or re-registered a device: whoever holds its tunnel closes it. */
  z.strictObject({ type: z.literal("disconnect"), from: id, deviceId: id }),
  /** A node that withdrew a right: every node re-checks the account's live streams. */
  z.strictObject({ type: z.literal("revalidate"), from: id, accountId: id }),
  /** A node that ended a session or revoked a token: every node cuts streams whose session ended. */
  z.strictObject({ type: z.literal("end-sessions"), from: id, accountId: id }),
  /** A node that changed what decides an account's streams (see access-changes.ts): every node drops its cached entries of the account. */
  z.strictObject({ type: z.literal("access-changed"), from: id, accountId: id }),
  /** `live close` on a node that does not carry the stream: whoever does cuts it and answers. */
  z.strictObject({ type: z.literal("close-stream"), from: id, requestId: id, accountId: id, streamId: id }),
  /** The answer to "close-stream", addressed to the asking node. */
  z.strictObject({ type: z.literal("stream-closed"), from: id, to: id, requestId: id, stream: closedStream }),
]);

/** One message between the nodes of a cluster. */
export type ClusterMessage = z.infer<typeof message>;

/** A stream cut on another node, as that node describes it. */
export type ClosedStream = z.infer<typeof closedStream>;

/** A message that cannot be sent or was received malformed; `code` says which. */
export class ClusterMessageError extends Error {
  override readonly name = "ClusterMessageError";
  constructor(
    readonly code: "message-too-large" | "message-invalid",
    message: string,
  ) {
    super(message);
  }
}

/** The NOTIFY payload of a message; throws "message-too-large" past CLUSTER_PAYLOAD_MAX_BYTES. */
export function encodeClusterMessage(msg: ClusterMessage): string {
  const payload = JSON.stringify(message.parse(msg));
  const bytes = Buffer.byteLength(payload, "utf8");
  if (bytes > CLUSTER_PAYLOAD_MAX_BYTES) {
    throw new ClusterMessageError("message-too-large", `cluster message "${msg.type}" is ${bytes} bytes; the limit is ${CLUSTER_PAYLOAD_MAX_BYTES}`);
  }
  return payload;
}

/** The message in a NOTIFY payload; throws "message-invalid" for anything that is not exactly one. */
export function decodeClusterMessage(payload: string): ClusterMessage {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    throw new ClusterMessageError("message-invalid", `cluster message is not JSON: ${JSON.stringify(payload.slice(0, 80))}`);
  }
  const parsed = message.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; ");
    throw new ClusterMessageError("message-invalid", `cluster message rejected: ${problems}`);
  }
  return parsed.data;
}
