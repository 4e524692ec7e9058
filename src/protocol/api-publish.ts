import { z } from "zod";
import { NameSchema, ROUTES } from "./api.js";
import { CidrSyntaxError } from "./cidr.js";
import type { RouteDoc } from "./openapi.js";
import { canonicalAllowFrom } from "./published-ports.js";
import { parseHostPort, TargetSyntaxError } from "./target.js";

/**
 * The REST catalogue of published ports (forward jobs): a port on the relay's host that
 * forwards each connection from a whitelisted source to a target in a device's LAN. Admins
 * list, add, pause, resume and remove them, and download their data logs.
 */

/** `host:port` in the device's LAN. */
const TargetText = z
  .string()
  .max(300)
  .superRefine((text, ctx) => {
    try {
      parseHostPort(text);
    } catch (err) {
      if (!(err instanceof TargetSyntaxError)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
    }
  });

/** One whitelist entry: an address or CIDR range. */
const CidrText = z
  .string()
  .max(64)
  .superRefine((text, ctx) => {
    try {
      canonicalAllowFrom([text]);
    } catch (err) {
      if (!(err instanceof CidrSyntaxError)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
    }
  });

/** POST /api/v1/published-ports — admin publishes a port of the relay's host for a device's target. */
export const PublishAddRequest = z.strictObject({
  device: NameSchema,
  port: z.number().int().min(1).max(65535),
  target: TargetText,
  allowFrom: z.array(CidrText).max(64).default([]),
  /** Default: the device's name and the port (`press-7-15020`). */
  name: NameSchema.optional(),
  logData: z.boolean().default(false),
  /** "udp": the port takes datagrams, one stream per source address and port, each expiring when idle. */
  protocol: z.enum(["tcp", "udp"]).default("tcp"),
});
export type PublishAddRequest = z.input<typeof PublishAddRequest>;

/** A data connection of a published port, carried right now (UDP: a source's mapping). */
export const PublishConnection = z.strictObject({
  /** The stream's id (close it with DELETE /api/v1/live/streams/:id). */
  id: z.string(),
  source: z.string(),
  since: z.string(),
  bytesUp: z.number().int().nonnegative(),
  bytesDown: z.number().int().nonnegative(),
});
export type PublishConnection = z.infer<typeof PublishConnection>;

/** One published port with its live counters. */
export const PublishedPortInfo = z.strictObject({
  name: z.string(),
  device: z.string(),
  /** `HOST:PORT` where it listens. */
  address: z.string(),
  port: z.number().int(),
  /** `HOST:PORT` in the device's LAN, with `/udp` for datagrams. */
  target: z.string(),
  protocol: z.enum(["tcp", "udp"]),
  allowFrom: z.array(z.string()),
  state: z.enum(["active", "paused"]),
  /** True while a listener is open for it on this node. */
  listening: z.boolean(),
  logData: z.boolean(),
  owner: z.string(),
  origin: z.enum(["service", "agent"]),
  createdAt: z.string(),
  accepted: z.number().int().nonnegative(),
  refused: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  connections: z.array(PublishConnection),
});
export type PublishedPortInfo = z.infer<typeof PublishedPortInfo>;

/** GET /api/v1/published-ports — admin: the account's published ports, by port, and the range the operator allows. */
export const PublishList = z.strictObject({
  /** `LOW-HIGH`, or "none" when the server publishes no ports. */
  range: z.string(),
  ports: z.array(PublishedPortInfo),
});
export type PublishList = z.infer<typeof PublishList>;

/** GET /api/v1/published-ports/:name/log — admin: the data log of a port published with logData (see relay/data-log.ts for its lines). */
export const PublishDataLog = z.strictObject({ name: z.string(), log: z.string() });
export type PublishDataLog = z.infer<typeof PublishDataLog>;

/** POST /api/v1/devices/:name/agent-publish — admin: whether the device's agent may ask for its own published ports (with this admin's rights). */
export const AgentPublishSwitch = z.strictObject({ allowed: z.boolean() });
export type AgentPublishSwitch = z.infer<typeof AgentPublishSwitch>;

/** POST /api/v1/agent/publish — the agent (device certificate): the published ports it wants; others it asked for before are removed. */
export const AgentPublishRequest = z.strictObject({
  jobs: z
    .array(
      z.strictObject({
        port: z.number().int().min(1).max(65535),
        target: TargetText,
        allowFrom: z.array(CidrText).max(64),
        /** Absent: TCP. */
        protocol: z.literal("udp").optional(),
      }),
    )
    .max(32),
});
export type AgentPublishRequest = z.infer<typeof AgentPublishRequest>;

/** The service's answer to each job an agent asked for: where it listens, or why not. */
export const AgentPublishResponse = z.strictObject({
  jobs: z.array(z.strictObject({ port: z.number().int(), target: z.string(), address: z.string().optional(), error: z.string().optional() })),
});
export type AgentPublishResponse = z.infer<typeof AgentPublishResponse>;

const Ok = z.strictObject({ ok: z.literal(true) });

/** The routes above as the OpenAPI document describes them. */
export const PUBLISH_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: "get",
    path: ROUTES.publishedPorts,
    summary: "Published ports with their live counters (admin)",
    auth: "session",
    role: "admin",
    response: PublishList,
  },
  {
    method: "post",
    path: ROUTES.publishedPorts,
    summary: "Publish a port of the relay's host that forwards to a target of a device (admin)",
    auth: "session",
    role: "admin",
    request: PublishAddRequest,
    response: PublishedPortInfo,
    status: 201,
  },
  {
    method: "post",
    path: ROUTES.publishedPortPause,
    summary: "Stop listening on a published port; its open connections stay (admin)",
    auth: "session",
    role: "admin",
    response: PublishedPortInfo,
  },
  {
    method: "post",
    path: ROUTES.publishedPortResume,
    summary: "Listen on a paused published port again (admin)",
    auth: "session",
    role: "admin",
    response: PublishedPortInfo,
  },
  {
    method: "delete",
    path: ROUTES.publishedPort,
    summary: "Remove a published port; its open connections are cut (admin)",
    auth: "session",
    role: "admin",
    response: Ok,
  },
  {
    method: "post",
    path: ROUTES.deviceAgentPublish,
    summary: "Let the device's agent ask for its own published ports, with the caller's rights, or stop it (admin)",
    auth: "session",
    role: "admin",
    request: AgentPublishSwitch,
    response: Ok,
  },
  {
    method: "post",
    path: ROUTES.agentPublish,
    summary: "The published ports the agent asks for (refused unless an admin allowed it for the device)",
    auth: "device-certificate",
    request: AgentPublishRequest,
    response: AgentPublishResponse,
  },
  {
    method: "get",
    path: ROUTES.publishedPortLog,
    summary: "The data log of a published port made with logData: one line per chunk, time, connection, direction, bytes, hex (admin)",
    auth: "session",
    role: "admin",
    response: PublishDataLog,
  },
];
