import type { PublishAddRequest, PublishedPortInfo, PublishList } from "../protocol/api-publish.js";
import { CidrSyntaxError } from "../protocol/cidr.js";
import { FernlinkError } from "../protocol/errors.js";
import { canonicalAllowFrom, formatPortRange, type PortPublisher, type PublishJob, publishVia } from "../protocol/published-ports.js";
import type { Requester } from "../protocol/relay-access.js";
import { type StreamProtocol, streamTargetLabel } from "../protocol/stream-headers.js";
import { formatHostPort, type HostPort, parseHostPort } from "../protocol/target.js";
import { ensureAccountEnabled } from "./account-state.js";
import type { AuditAction } from "./audit-actions.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { deviceByName } from "./devices.js";
import { ensureAdmin } from "./roles.js";
import { findAccountById } from "./store/accounts.js";
import {
  createPublishedPort,
  findPublishedPort,
  getPublishedPort,
  listPublishedPorts,
  type PublishedPortRow,
  publishedPortOn,
  removePublishedPort,
  setPublishedPortState,
} from "./store/published-ports.js";
import type { Device } from "./store/schema.js";
import { getUser } from "./store/users.js";
import { authorizeStream } from "./stream-access.js";

/**
 * Published ports (forward jobs), as IPrAcc has them: a port of the relay's host forwarding
 * each whitelisted connection to a target in a device's LAN, opened with the rights of the
 * admin who made the job. Admins manage them; the node's PortPublisher listens.
 */

/** The job a listener needs, from its row. */
export function publishJob(row: PublishedPortRow): PublishJob {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    deviceId: row.device_id,
    deviceName: row.device_name,
    port: row.port,
    target: { host: row.target_host, port: row.target_port },
    protocol: row.protocol,
    allowFrom: row.allow_from === "" ? [] : row.allow_from.split(" "),
    logData: row.log_data === 1,
  };
}

function publisherOf(ctx: AccessContext): PortPublisher {
  if (!ctx.publisher?.range) {
    throw new FernlinkError("invalid-input", "this server publishes no ports; start it with --publish-ports LOW-HIGH (e.g. --publish-ports 15000-15099)");
  }
  return ctx.publisher;
}

/** A published port as the API shows it, with its listener's counters and data connections. */
export function publishedPortInfo(ctx: AccessContext, row: PublishedPortRow): PublishedPortInfo {
  const stats = ctx.publisher?.stats(row.id);
  const via = publishVia(row.id);
  const connections = ctx.presence
    .streams(row.account_id)
    .filter((s) => s.request.via === via)
    .map((s) => ({ id: s.streamId, source: s.request.source, since: s.startedAt.toISOString(), bytesUp: s.bytesUp, bytesDown: s.bytesDown }));
  return {
    name: row.name,
    device: row.device_name,
    address: formatHostPort({ host: ctx.publisher?.hostFor?.(row.device_id) ?? ctx.publisher?.host ?? "?", port: row.port }),
    port: row.port,
    target: streamTargetLabel({ host: row.target_host, port: row.target_port }, row.protocol),
    protocol: row.protocol,
    allowFrom: publishJob(row).allowFrom,
    state: row.state,
    listening: stats?.listening ?? false,
    logData: row.log_data === 1,
    owner: row.owner_name,
    origin: row.origin,
    createdAt: row.created_at,
    accepted: stats?.accepted ?? 0,
    refused: stats?.refused ?? 0,
    errors: stats?.errors ?? 0,
    ...(stats?.lastError !== undefined ? { lastError: stats.lastError } : {}),
    connections,
  };
}

async function jobNamed(ctx: AccessContext, who: Principal, name: string): Promise<PublishedPortRow> {
  const row = await findPublishedPort(ctx.db, who.accountId, name);
  if (!row) throw new FernlinkError("not-found", `no published port "${name}"; see: fernlink publish list`);
  return row;
}

/** The account's published ports with their live counters (admins). */
export async function listPublished(ctx: AccessContext, who: Principal): Promise<PublishList> {
  await ensureAdmin(ctx, who, "publish.list", "published ports");
  const rows = await listPublishedPorts(ctx.db, who.accountId);
  return { range: formatPortRange(ctx.publisher?.range), ports: rows.map((r) => publishedPortInfo(ctx, r)) };
}

function parseTarget(text: string): HostPort {
  try {
    return parseHostPort(text);
  } catch (err) {
    throw new FernlinkError("invalid-input", `--target ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function parseAllowFrom(texts: readonly string[]): string[] {
  try {
    return canonicalAllowFrom(texts);
  } catch (err) {
    if (err instanceof CidrSyntaxError) throw new FernlinkError("invalid-input", `--allow-from ${err.message}`, { cause: err });
    throw err;
  }
}

/** What a new job is made of, checked or not yet. */
export interface JobSpec {
  port: number;
  target: string;
  allowFrom: readonly string[];
  name: string | undefined;
  logData: boolean;
  origin: "service" | "agent";
  /** Default "tcp". */
  protocol?: StreamProtocol;
}

/**
 * Makes a job for `device` with `owner`'s rights and listens on it: checked against the range,
 * the ports in use and the owner's own rights first. Throws a FernlinkError saying what to change.
 */
export async function createJob(ctx: AccessContext, owner: Requester, device: Device, spec: JobSpec): Promise<PublishedPortRow> {
  const publisher = publisherOf(ctx);
  const { low, high } = publisher.range!;
  if (spec.port < low || spec.port > high) {
    throw new FernlinkError("invalid-input", `port ${spec.port} is outside the ports this server may publish (${low}-${high}); pick one in that range`);
  }
  const target = parseTarget(spec.target);
  const allowFrom = parseAllowFrom(spec.allowFrom);
  // The job opens streams with its owner's rights: refuse now what every connection would be refused.
  const protocol = spec.protocol ?? "tcp";
  await authorizeStream(ctx, owner, { token: undefined, device: device.name, target, source: "", ...(protocol === "udp" ? { protocol } : {}) });
  const name = spec.name ?? `${device.name}-${spec.port}`;
  const taken = await publishedPortOn(ctx.db, spec.port);
  if (taken) {
    const by = taken.account_id === owner.accountId ? ` as "${taken.name}"` : "";
    throw new FernlinkError("conflict", `port ${spec.port} is already published${by}; pick another port`);
  }
  try {
    await createPublishedPort(ctx.db, {
      accountId: owner.accountId,
      deviceId: device.id,
      ownerId: owner.userId,
      name,
      port: spec.port,
      targetHost: target.host,
      targetPort: target.port,
      protocol,
      allowFrom,
      logData: spec.logData,
      origin: spec.origin,
      now: ctx.now(),
    });
  } catch (err) {
    if (err instanceof FernlinkError && err.code === "conflict") {
      throw new FernlinkError("conflict", `a published port "${name}" or one on port ${spec.port} exists; pick another --name or --port`, { cause: err });
    }
    throw err;
  }
  const row = (await findPublishedPort(ctx.db, owner.accountId, name))!;
  try {
    await publisher.open(publishJob(row));
  } catch (err) {
    await removePublishedPort(ctx.db, row.id);
    throw err;
  }
  return row;
}

/** What the audit says of a job. */
export function describeJob(ctx: AccessContext, row: PublishedPortRow): string {
  const info = publishedPortInfo(ctx, row);
  const whitelist = info.allowFrom.length > 0 ? ` from ${info.allowFrom.join(", ")}` : " from anywhere";
  return `${row.name}: ${info.address} -> ${info.target} via ${row.device_name}${whitelist}${row.log_data ? ", data logged" : ""}`;
}

/** Publishes a port (admins): checked against the range, the ports in use and the admin's own rights, then listened on. */
export async function addPublished(ctx: AccessContext, who: Principal, input: PublishAddRequest): Promise<PublishedPortInfo> {
  await ensureAdmin(ctx, who, "publish.add", `${input.device}:${input.port}`);
  publisherOf(ctx);
  const device = await deviceByName(ctx, who, input.device);
  const row = await createJob(ctx, requesterOf(who), device, {
    port: input.port,
    target: input.target,
    allowFrom: input.allowFrom ?? [],
    name: input.name,
    logData: input.logData ?? false,
    origin: "service",
    protocol: input.protocol ?? "tcp",
  });
  await record(ctx, who, "publish.add", describeJob(ctx, row));
  return publishedPortInfo(ctx, row);
}

/** Stops listening on a published port (admins); its open data connections stay. */
export async function pausePublished(ctx: AccessContext, who: Principal, name: string): Promise<PublishedPortInfo> {
  await ensureAdmin(ctx, who, "publish.pause", name);
  const row = await jobNamed(ctx, who, name);
  await setPublishedPortState(ctx.db, row.id, "paused");
  ctx.publisher?.close(row.id);
  await record(ctx, who, "publish.pause", name);
  return publishedPortInfo(ctx, { ...row, state: "paused" });
}

/** Listens on a paused published port again (admins). */
export async function resumePublished(ctx: AccessContext, who: Principal, name: string): Promise<PublishedPortInfo> {
  await ensureAdmin(ctx, who, "publish.resume", name);
  const row = await jobNamed(ctx, who, name);
  await publisherOf(ctx).open(publishJob(row));
  await setPublishedPortState(ctx.db, row.id, "active");
  await record(ctx, who, "publish.resume", name);
  return publishedPortInfo(ctx, { ...row, state: "active" });
}

/** Removes a published port (admins): the listener closes and its data connections are cut. */
export async function removePublished(ctx: AccessContext, who: Principal, name: string): Promise<void> {
  await ensureAdmin(ctx, who, "publish.remove", name);
  const row = await jobNamed(ctx, who, name);
  await removePublishedPort(ctx.db, row.id);
  ctx.publisher?.close(row.id);
  const via = publishVia(row.id);
  for (const stream of ctx.presence.streams(who.accountId)) if (stream.request.via === via) ctx.presence.cutStream(stream.streamId);
  await record(ctx, who, "publish.remove", name);
}

/** The data log of a published port made with logData (admins). */
export async function publishedDataLog(ctx: AccessContext, who: Principal, name: string): Promise<string> {
  await ensureAdmin(ctx, who, "publish.log", name);
  const row = await jobNamed(ctx, who, name);
  if (row.log_data !== 1) throw new FernlinkError("invalid-input", `published port "${name}" keeps no data log; publish it again with --log-data`);
  await record(ctx, who, "publish.log", name);
  return ctx.publisher?.dataLog(row.id) ?? "";
}

/**
 * The requester of a published port's stream: the job's owner, as long as job and owner exist.
 * Its `sessionId` is `publish:<job id>`, so the stream ends when the job is removed.
 */
export async function publishRequester(ctx: AccessContext, job: { id: string; accountId: string }): Promise<Requester> {
  const row = await getPublishedPort(ctx.db, job.id);
  const owner = row && row.account_id === job.accountId ? await getUser(ctx.db, row.owner_id) : undefined;
  if (!row || !owner) throw new FernlinkError("unauthenticated", "the published port was removed");
  const account = await findAccountById(ctx.db, row.account_id);
  if (account) ensureAccountEnabled(account);
  if (owner.admin_locked_at !== null) throw new FernlinkError("user-locked", `the published port's owner "${owner.name}" is locked by an admin`);
  return { accountId: row.account_id, userId: owner.id, userName: owner.name, role: owner.role, sessionId: `publish:${row.id}` };
}

function requesterOf(who: Principal): Requester {
  return { accountId: who.accountId, userId: who.userId, userName: who.userName, role: who.role, sessionId: who.sessionId };
}

function record(ctx: AccessContext, who: Principal, action: AuditAction, object: string): Promise<string> {
  return auditBy(ctx, who, action, object);
}
