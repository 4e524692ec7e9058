import type { DeviceReach } from "../protocol/api.js";
import { FernlinkError } from "../protocol/errors.js";
import type { HostPort } from "../protocol/target.js";
import { judgeTarget, parseTargetEntry, showTarget } from "../protocol/target-filter.js";

/**
 * Checks the targets of a `connect` against what the user may reach on the device, before any
 * port listens: a target outside the rules would otherwise fail only when an application
 * connects. Host names pass (the agent resolves and checks them).
 */
export function checkTargets(reach: DeviceReach, targets: readonly HostPort[]): void {
  if (reach.level !== "connect") {
    throw new FernlinkError("forbidden", `you may see device "${reach.device}" but not connect to it; ask an account admin for a connect rule`);
  }
  const entries = reach.targets.map(parseTargetEntry);
  for (const target of targets) {
    if (judgeTarget(entries, target) !== "denied") continue;
    const allowed = reach.targets.length > 0 ? `you may reach ${reach.targets.join(", ")}` : "you may reach no target there";
    throw new FernlinkError(
      "target-not-allowed",
      `target ${showTarget(target)} is outside what you may reach on "${reach.device}" (${allowed}); ask an account admin`,
    );
  }
}
