import { RECORDED_TARGETS_MAX, type RecordedTargets, type RecordingInfo } from "../protocol/api-recordings.js";
import { FernlinkError } from "../protocol/errors.js";
import { parseHostPort } from "../protocol/target.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { deviceByName } from "./devices.js";
import { canonicalTarget, recordedTargets } from "./recorded-targets.js";
import { ensureAdmin } from "./roles.js";
import { setRecordedTargets } from "./store/devices.js";

/**
 * Records the streams to one of the device's targets from now on, or stops (admins). Audited;
 * the stream cache drops the device row, so the next stream sees the change.
 */
export async function setRecordedTarget(ctx: AccessContext, who: Principal, deviceName: string, targetText: string, on: boolean): Promise<RecordedTargets> {
  await ensureAdmin(ctx, who, "device.record", deviceName);
  let target: string;
  try {
    target = canonicalTarget(parseHostPort(targetText));
  } catch (err) {
    throw new FernlinkError("invalid-input", `"${targetText}" is not HOST:PORT, e.g. 192.168.1.10:502`, { cause: err });
  }
  const device = await deviceByName(ctx, who, deviceName);
  const before = recordedTargets(device);
  const after = on ? [...new Set([...before, target])] : before.filter((t) => t !== target);
  if (after.length > RECORDED_TARGETS_MAX)
    throw new FernlinkError("invalid-input", `device "${device.name}" already has ${RECORDED_TARGETS_MAX} recorded targets; turn one off first`);
  await setRecordedTargets(ctx.db, device.id, after);
  await accessChanged(ctx, who.accountId);
  await auditBy(ctx, who, "device.record", `${device.name}/${target}`, "ok", on ? "streams recorded from now on" : "streams no longer recorded");
  return { device: device.name, targets: after };
}

/** The recorded streams this node keeps for the caller's account, newest first (admins). */
export async function listRecordings(ctx: AccessContext, who: Principal): Promise<RecordingInfo[]> {
  await ensureAdmin(ctx, who, "recording.list", "recordings");
  return ctx.recordings?.list(who.accountId) ?? [];
}

/** One recorded stream's bytes as text (admins); every retrieval is audited. */
export async function getRecording(ctx: AccessContext, who: Principal, id: string): Promise<string> {
  await ensureAdmin(ctx, who, "recording.get", id);
  const text = ctx.recordings?.text(who.accountId, id);
  if (text === undefined) {
    throw new FernlinkError(
      "not-found",
      `no recording "${id}" on this server; list them with: fernlink recording list (recordings live in the memory of the node that carried the stream)`,
    );
  }
  await auditBy(ctx, who, "recording.get", id);
  return text;
}
