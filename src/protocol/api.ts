import { z } from "zod";
import { SwitchState } from "./key-switch.js";

/**
 * The REST API catalogue. Every body that crosses the wire is validated with one of these
 * schemas on both ends; unknown keys are rejected on the receiving side.
 */

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-'");

/** Names of accounts, users and devices. */
export const NameSchema = name;

/** POST /api/v1/login — client → access: exchange a password for a session token. */
export const LoginRequest = z.strictObject({
  account: name,
  user: name,
  password: z.string().min(1).max(1024),
  /** One-time code, for users with two-factor login; ignored for the others. */
  otp: z
    .string()
    .regex(/^\d{6}$/, "a one-time code is 6 digits")
    .optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/**
 * What a restricted session may only do: change the expired password, change the password an
 * admin reset, or enrol a one-time code.
 */
export const SessionRestriction = z.enum(["password-expired", "password-change-required", "otp-enrollment-required"]);
export type SessionRestriction = z.infer<typeof SessionRestriction>;

/** Reply to login: an opaque bearer token, shown once. */
export const LoginResponse = z.strictObject({
  token: z.string(),
  expiresAt: z.string(),
  account: name,
  user: name,
  /** Present when the session is restricted until the user fixes what the policy asks for. */
  restriction: SessionRestriction.optional(),
});
export type LoginResponse = z.infer<typeof LoginResponse>;

/** GET /api/v1/whoami — who the bearer token belongs to. */
export const WhoAmI = z.strictObject({
  account: name,
  user: name,
  role: z.enum(["admin", "member"]),
  /** Null for an API token without expiry. */
  expiresAt: z.string().nullable(),
  /** The API token's name, when the caller used one. */
  token: z.string().optional(),
});
export type WhoAmI = z.infer<typeof WhoAmI>;

/** GET /api/v1/account/admins — whom any user of the account asks for access. */
export const AccountAdmins = z.strictObject({
  account: name,
  admins: z.array(name),
});
export type AccountAdmins = z.infer<typeof AccountAdmins>;

/** POST /api/v1/devices — admin adds a device and gets its first activation key. */
export const DeviceAddRequest = z.strictObject({
  name,
  lan: z.array(z.string().max(64)).max(64).default([]),
});
export type DeviceAddRequest = z.infer<typeof DeviceAddRequest>;

/** What the caller may do with a device: see it, or also connect to these canonical `host[:ports]` targets. */
export const DeviceAccessInfo = z.strictObject({
  level: z.enum(["view", "connect"]),
  targets: z.array(z.string()),
});
export type DeviceAccessInfo = z.infer<typeof DeviceAccessInfo>;
/** What a device is doing: its tunnel is up, it is registered but its tunnel is down, or no agent registered yet. */
export const DeviceState = z.enum(["online", "offline", "not-registered"]);
export type DeviceState = z.infer<typeof DeviceState>;

/** One device as the API shows it. */
export const DeviceInfo = z.strictObject({
  id: z.string(),
  name,
  state: DeviceState,
  online: z.boolean(),
  lastSeen: z.string().nullable(),
  /** The name of the relay holding its tunnel now, or of the last one (null before the first connection). */
  relay: z.string().nullable(),
  lan: z.array(z.string()),
  registered: z.boolean(),
  createdAt: z.string(),
  address: z.string().nullable(),
  /** The pools it is in, by name. */
  pools: z.array(z.string()),
  /** Its key switch as the agent last reported it (null: never reported); `off` explains an offline device. */
  switch: SwitchState.nullable(),
  /** When the service learnt of the switch's last turn. */
  switchedAt: z.string().nullable(),
  /** Only on `device show`: the caller's own access. */
  access: DeviceAccessInfo.optional(),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;

/** GET /api/v1/devices/:name/access — what the caller may reach on a device, so a client can check its targets before it listens. */
export const DeviceReach = z.strictObject({
  device: name,
  level: z.enum(["view", "connect"]),
  /** Canonical target-filter entries (`host[:port,…]`) the caller's streams may reach; empty below connect. */
  targets: z.array(z.string()),
});
export type DeviceReach = z.infer<typeof DeviceReach>;

/** A fresh one-time activation key; the plain key is only ever in this reply. */
export const ActivationKeyResponse = z.strictObject({
  device: DeviceInfo,
  activationKey: z.string(),
  expiresAt: z.string(),
});
export type ActivationKeyResponse = z.infer<typeof ActivationKeyResponse>;

/** POST /api/v1/agent/register — agent → access: a CSR plus the activation key. */
export const RegisterRequest = z.strictObject({
  activationKey: z.string().min(1).max(256),
  csr: z.string().min(1).max(16384),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** Reply to registration: the device certificate, bound to the device id. */
export const RegisterResponse = z.strictObject({
  deviceId: z.string(),
  device: name,
  account: name,
  certificate: z.string(),
  caCertificate: z.string(),
  lan: z.array(z.string()),
});
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/** GET /api/v1/agent/relay — agent (mTLS) → access: which relay to use for this connection. */
const RelayEndpointBody = z.strictObject({ id: z.string(), name: z.string(), host: z.string(), port: z.number().int().min(1).max(65535) });
export const RelayAssignment = z.strictObject({
  /** The first of `relays`. */
  relay: RelayEndpointBody,
  /** Every relay that takes agents now, best first (region, then load): the agent fails over down the list without asking again. */
  relays: z.array(RelayEndpointBody).min(1).max(64),
  lan: z.array(z.string()),
});
export type RelayAssignment = z.infer<typeof RelayAssignment>;

/** One audit record: an administrative action, a login, a stream, or a refusal. */
export const AuditRecord = z.strictObject({
  /** Position in the account's audit: 1, 2, 3 …; the hash chain covers it. */
  seq: z.number().int(),
  id: z.string(),
  /** When the record was written (for a stream: when it ended). */
  at: z.string(),
  actor: z.string().nullable(),
  source: z.string().nullable(),
  action: z.string(),
  object: z.string().nullable(),
  result: z.enum(["ok", "denied", "error"]),
  reason: z.string().nullable(),
  device: z.string().nullable(),
  target: z.string().nullable(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  bytesUp: z.number().nullable(),
  bytesDown: z.number().nullable(),
  /** The API token the action was taken with (its name, never the token); null for a session or the server. */
  token: z.string().nullable(),
  /** Set on a record standing for several refusals of one source and reason within a minute: how many. */
  count: z.number().int().optional(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** Every failed API call answers with this body. */
export const ErrorBody = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** The routes, in one place, so client, agent and server agree on paths. */
export const ROUTES = {
  login: "/api/v1/login",
  session: "/api/v1/session",
  sessionState: "/api/v1/session/state",
  logout: "/api/v1/logout",
  whoami: "/api/v1/whoami",
  accountAdmins: "/api/v1/account/admins",
  devices: "/api/v1/devices",
  device: "/api/v1/devices/:name",
  deviceKey: "/api/v1/devices/:name/activation-key",
  deviceAccess: "/api/v1/devices/:name/access",
  deviceWeb: "/api/v1/devices/:name/web",
  deviceWebTarget: "/api/v1/devices/:name/web/:target",
  audit: "/api/v1/audit",
  auditVerify: "/api/v1/audit/verify",
  connectionsReport: "/api/v1/reports/connections",
  liveTunnels: "/api/v1/live/tunnels",
  liveStreams: "/api/v1/live/streams",
  liveStream: "/api/v1/live/streams/:id",
  status: "/api/v1/status",
  publishedPorts: "/api/v1/published-ports",
  publishedPort: "/api/v1/published-ports/:name",
  publishedPortPause: "/api/v1/published-ports/:name/pause",
  publishedPortResume: "/api/v1/published-ports/:name/resume",
  publishedPortLog: "/api/v1/published-ports/:name/log",
  deviceAgentPublish: "/api/v1/devices/:name/agent-publish",
  deviceRecord: "/api/v1/devices/:name/record",
  recordings: "/api/v1/recordings",
  recording: "/api/v1/recordings/:id",
  agentPublish: "/api/v1/agent/publish",
  events: "/api/v1/events",
  register: "/api/v1/agent/register",
  relay: "/api/v1/agent/relay",
  agentSwitch: "/api/v1/agent/switch",
  health: "/api/v1/health",
  openapi: "/api/v1/openapi.json",
} as const;

/** Fills the `:param` parts of a route pattern, URL-encoded. */
export function routePath(pattern: string, params: Record<string, string>): string {
  return pattern.replace(/:([a-z]+)/gi, (_, key: string) => encodeURIComponent(params[key] ?? ""));
}
