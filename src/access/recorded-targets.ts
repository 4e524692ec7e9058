/** Which of a device's targets are recorded: pure reads of its row, shared by the stream check and the admin commands. */

import { formatHostPort, type HostPort } from "../protocol/target.js";
import type { Device } from "./store/schema.js";

/** A target as it is stored and compared: `host:port`, the host in lower case. */
export function canonicalTarget(target: HostPort): string {
  return formatHostPort({ host: target.host.toLowerCase(), port: target.port });
}

/** The device's recorded targets. */
export function recordedTargets(device: Pick<Device, "recorded_targets">): string[] {
  return device.recorded_targets === null ? [] : device.recorded_targets.split(" ").filter((t) => t !== "");
}

/** True when streams to `target` on the device are recorded (the target as the user named it). */
export function isRecorded(device: Pick<Device, "recorded_targets">, target: HostPort): boolean {
  return device.recorded_targets !== null && recordedTargets(device).includes(canonicalTarget(target));
}
