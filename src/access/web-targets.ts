import { type WebTargetAddRequest, type WebTargetInfo, type WebTargetList, webTargetOpenPath } from "../protocol/api-web-targets.js";
import { FernlinkError } from "../protocol/errors.js";
import { TargetSyntaxError } from "../protocol/target.js";
import { formatWebTargetUrl, parseWebTargetUrl, type WebTargetAddress, type WebTargetKind } from "../protocol/web-target-url.js";
import { canView } from "./access-decision.js";
import { deviceAccess } from "./access-model.js";
import type { AuditAction } from "./audit-actions.js";
import { audit } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { deviceByName } from "./devices.js";
import { noSuchDevice } from "./no-such-device.js";
import { ensureAdmin } from "./roles.js";
import { openSecret, sealSecret } from "./secret-box.js";
import { findDeviceByName } from "./store/devices.js";
import type { Device, WebTarget } from "./store/schema.js";
import { createWebTarget, findWebTargetByName, getWebTarget, listWebTargets, newWebTargetId, removeWebTarget, WEB_TARGET_ID } from "./store/web-targets.js";

/**
 * Web targets: the HMI pages and VNC panels an admin publishes per device. Anyone who may
 * see the device lists them; the portal's proxy and VNC bridge look them up by id, with the
 * VNC password opened from the secret box only there.
 */

/** A web target as the proxy and the VNC bridge need it; `password` is the VNC password in clear. */
export interface WebTargetRecord {
  id: string;
  accountId: string;
  deviceId: string;
  deviceName: string;
  name: string;
  kind: WebTargetKind;
  host: string;
  port: number;
  /** The page to open first (path, query, fragment); null for VNC. */
  path: string | null;
  password?: string;
}

/** What a sealed password is bound to: it opens only on the row of this target. */
function secretContext(id: string): string {
  return `web-target:${id}`;
}

function parseAddress(url: string): WebTargetAddress {
  try {
    return parseWebTargetUrl(url);
  } catch (err) {
    if (err instanceof TargetSyntaxError) throw new FernlinkError("invalid-input", err.message, { cause: err });
    throw err;
  }
}

/** A stored target as the API shows it: canonical URL, never the password. */
export function webTargetInfo(target: WebTarget): WebTargetInfo {
  return {
    id: target.id,
    name: target.name,
    kind: target.kind,
    url: formatWebTargetUrl(target),
    hasPassword: target.secret !== null,
    open: webTargetOpenPath(target.kind, target.id),
  };
}

/** The device if `who` may see it; a member's attempt on a device no rule shows is refused as missing, and recorded. */
async function visibleDevice(ctx: AccessContext, who: Principal, name: string, action: AuditAction): Promise<Device> {
  const device = await findDeviceByName(ctx.db, who.accountId, name);
  if (!device) throw noSuchDevice(name);
  if (who.role !== "admin" && !canView(await deviceAccess(ctx, who, device))) {
    await record(ctx, who, action, name, name, "denied", "not-found: no access rule shows this device to the user");
    throw noSuchDevice(name);
  }
  return device;
}

function record(
  ctx: AccessContext,
  who: Principal,
  action: AuditAction,
  object: string,
  device: string,
  result: "ok" | "denied" = "ok",
  reason?: string,
): Promise<string> {
  return audit(ctx, {
    accountId: who.accountId,
    actor: who.userName,
    source: who.source,
    action,
    object,
    device,
    result,
    reason: reason ?? null,
    token: who.tokenName ?? null,
  });
}

/** The web targets of a device the caller may see, by name. */
export async function listDeviceWebTargets(ctx: AccessContext, who: Principal, deviceName: string): Promise<WebTargetList> {
  const device = await visibleDevice(ctx, who, deviceName, "web-target.list");
  return { targets: (await listWebTargets(ctx.db, device.id)).map(webTargetInfo) };
}

/** Publishes a web target on a device (admins); a VNC password is stored sealed and never shown again. */
export async function addWebTarget(ctx: AccessContext, who: Principal, deviceName: string, input: WebTargetAddRequest): Promise<WebTargetInfo> {
  await ensureAdmin(ctx, who, "web-target.add", deviceName);
  const device = await deviceByName(ctx, who, deviceName);
  const address = parseAddress(input.url);
  if (input.password !== undefined && address.kind !== "vnc") {
    throw new FernlinkError("invalid-input", "a password applies to vnc:// targets only (--password-stdin)");
  }
  const id = newWebTargetId();
  let target: WebTarget;
  try {
    target = await createWebTarget(ctx.db, {
      id,
      accountId: who.accountId,
      deviceId: device.id,
      name: input.name,
      ...address,
      secret: input.password === undefined ? null : sealSecret(ctx.secretKey, input.password, secretContext(id)),
      now: ctx.now(),
    });
  } catch (err) {
    if (err instanceof FernlinkError && err.code === "conflict") {
      throw new FernlinkError("conflict", `device "${device.name}" already has a web target "${input.name}"; remove it first or pick another name`, {
        cause: err,
      });
    }
    throw err;
  }
  const info = webTargetInfo(target);
  await record(ctx, who, "web-target.add", `${device.name}/${input.name}: ${info.url}${info.hasPassword ? " with password" : ""}`, device.name);
  return info;
}

/** Removes a device's web target by name (admins). */
export async function removeDeviceWebTarget(ctx: AccessContext, who: Principal, deviceName: string, targetName: string): Promise<void> {
  await ensureAdmin(ctx, who, "web-target.remove", `${deviceName}/${targetName}`);
  const device = await deviceByName(ctx, who, deviceName);
  const target = await findWebTargetByName(ctx.db, device.id, targetName);
  if (!target || !(await removeWebTarget(ctx.db, target.id))) {
    throw new FernlinkError("not-found", `device "${device.name}" has no web target "${targetName}"; see: fernlink device web ${device.name}`);
  }
  await record(ctx, who, "web-target.remove", `${device.name}/${targetName}`, device.name);
  // Its open HMI pages and VNC panels close with it, as streams close when a rule is withdrawn.
  for (const stream of ctx.presence.streams(who.accountId)) {
    if (stream.request.via === webTargetVia(target.id)) ctx.presence.cutStream(stream.streamId);
  }
}

/** The `via` mark of the streams the portal opens for web target `id`. */
export function webTargetVia(id: string): string {
  return `web-target:${id}`;
}

/**
 * The web target with this id, for the portal's proxy and VNC bridge, with its VNC password
 * opened; undefined when there is none. No access check: the caller decides who may open it.
 */
export async function findWebTarget(ctx: AccessContext, id: string): Promise<WebTargetRecord | undefined> {
  if (!WEB_TARGET_ID.test(id)) return undefined;
  const row = await getWebTarget(ctx.db, id);
  if (!row) return undefined;
  return {
    id: row.id,
    accountId: row.account_id,
    deviceId: row.device_id,
    deviceName: row.device_name,
    name: row.name,
    kind: row.kind,
    host: row.host,
    port: row.port,
    path: row.path,
    ...(row.secret === null ? {} : { password: openSecret(ctx.secretKey, row.secret, secretContext(row.id)) }),
  };
}
