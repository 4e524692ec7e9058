import { z } from "zod";

/**
 * The contract between a relay (`fernlink relay run`) and the access nodes. The relay proves
 * itself with its relay certificate (mutual TLS, a `urn:fernlink:relay:<id>` SAN URI); it never
 * reads the store. Over one HTTP/2 connection to an access node it
 * - asks whether an agent's certificate is current (POST RELAY_ROUTES.agent, one per tunnel);
 * - holds one long POST (RELAY_ROUTES.link): NDJSON events up, NDJSON commands down.
 * Access nodes open users' streams on the relay as CONNECT streams carrying the grant's
 * metadata (FORWARD_HEADER), proving themselves with a node certificate (`urn:fernlink:node:`).
 */
export const RELAY_ROUTES = {
  register: "/api/v1/relays/register",
  agent: "/api/v1/relays/agent",
  link: "/api/v1/relays/link",
} as const;

/** Metadata of a CONNECT stream an access node forwards to the relay holding the device. */
export const FORWARD_HEADER = {
  /** The device id: the relay finds its tunnel by it. */
  deviceId: "fernlink-device-id",
} as const;

/**
 * Metadata of a CONNECT stream a relay opens on its link's connection for a connection to one
 * of its published ports: the access node opens it as the job's stream (the job owner's
 * rights, audited) when this relay holds the job's device. The protocol rides in HEADER.protocol.
 */
export const PUBLISH_HEADER = {
  job: "fernlink-publish-job",
  /** The address the connection came from, for the audit and the live table. */
  source: "fernlink-publish-source",
} as const;

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
const region = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
const id = z.string().min(1).max(128);

/** `relay add` names and regions: letters, digits, `.`, `_`, `-`. */
export const RelayName = name;
export const RelayRegion = region;

/** POST RELAY_ROUTES.register — relay → access: the one-time relay key and a CSR. */
export const RelayRegisterRequest = z.strictObject({
  key: z.string().min(1).max(256),
  csr: z.string().min(1).max(16384),
  /** Where agents and access nodes reach the relay: https://HOST:PORT. */
  url: z.string().url().max(512),
  region: region.optional(),
});
export type RelayRegisterRequest = z.infer<typeof RelayRegisterRequest>;

/** The relay's certificate: client certificate towards access nodes, server certificate for its URL's host. */
export const RelayRegisterResponse = z.strictObject({
  relayId: id,
  name,
  certificate: z.string(),
  caCertificate: z.string(),
});
export type RelayRegisterResponse = z.infer<typeof RelayRegisterResponse>;

/** POST RELAY_ROUTES.agent — is this agent certificate (chain already verified by the relay) current? */
export const AgentCheckRequest = z.strictObject({ serial: z.string().min(1).max(128), deviceId: id.optional() });
export type AgentCheckRequest = z.infer<typeof AgentCheckRequest>;

export const AgentCheckResponse = z.strictObject({ deviceId: id, accountId: id, deviceName: z.string(), certSerial: z.string() });
export type AgentCheckResponse = z.infer<typeof AgentCheckResponse>;

const portNumber = z.number().int().min(1).max(65535);

/** A published port a relay listens for (`protocol/published-ports.ts` PublishJob). */
export const LinkPublishJob = z.strictObject({
  id,
  accountId: id,
  name: z.string().min(1).max(200),
  deviceId: id,
  deviceName: z.string().min(1).max(200),
  port: portNumber,
  target: z.strictObject({ host: z.string().min(1).max(253), port: portNumber }),
  protocol: z.enum(["tcp", "udp"]),
  allowFrom: z.array(z.string().max(50)).max(100),
  logData: z.boolean(),
});

/** A relay's counters of one published port (`protocol/published-ports.ts` PublishStats). */
export const LinkPublishStats = z.strictObject({
  jobId: id,
  listening: z.boolean(),
  accepted: z.number().int().min(0),
  refused: z.number().int().min(0),
  errors: z.number().int().min(0),
  lastError: z.string().max(500).optional(),
  logBytes: z.number().int().min(0),
});
export type LinkPublishStats = z.infer<typeof LinkPublishStats>;

/** Relay → access, one JSON object per line on the link. */
export const RelayEvent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("hello"), url: z.string().url().max(512), region: region.optional(), draining: z.boolean() }),
  z.strictObject({ type: z.literal("up"), deviceId: id, address: z.string().max(200), since: z.string().max(40) }),
  z.strictObject({ type: z.literal("down"), deviceId: id }),
  /** Every few seconds: the relay's load; it is also the link's heartbeat. */
  z.strictObject({
    type: z.literal("load"),
    devices: z.number().int().min(0),
    streams: z.number().int().min(0),
    bytesUp: z.number().min(0),
    bytesDown: z.number().min(0),
  }),
  /** With each load: the counters of the published ports the relay has listened for, and its listeners' host. */
  z.strictObject({ type: z.literal("published"), host: z.string().max(200), jobs: z.array(LinkPublishStats).max(10_000) }),
]);
export type RelayEvent = z.infer<typeof RelayEvent>;

/** Access → relay, one JSON object per line on the link. */
export const RelayCommand = z.discriminatedUnion("type", [
  /** The device was removed or registered again: close its tunnel. */
  z.strictObject({ type: z.literal("disconnect"), deviceId: id }),
  /** Take no new agents, move the present ones, close what is left after `deadlineMs`, then exit. */
  z.strictObject({ type: z.literal("drain"), deadlineMs: z.number().int().min(0) }),
  /** The active published ports of the devices this relay holds, all of them (sent when changed and after each link). */
  z.strictObject({ type: z.literal("publish"), jobs: z.array(LinkPublishJob).max(10_000) }),
]);
export type RelayCommand = z.infer<typeof RelayCommand>;

/** The request (relay → agent, on the tunnel) with which a draining relay asks its agent to move. */
export const AGENT_MOVE_PATH = "/fernlink/move";

/** How often the relay sends its load (the link's heartbeat). */
export const RELAY_LOAD_INTERVAL_MS = 2_000;
