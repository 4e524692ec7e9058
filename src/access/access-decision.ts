import type { HostPort } from "../protocol/target.js";
import { canonicalTargets, entriesForPort, formatTargetEntry, judgeTarget, parseTargetEntry, type TargetEntry } from "../protocol/target-filter.js";

/**
 * The access decision as a pure function over a plain model of an account, so that it can
 * be tested against a reference model without a database. The store loads the part of the
 * model a question needs (see access-model.ts).
 */

/** What a user may do with a device: nothing, see it, or also open streams to it. */
export type AccessLevel = "none" | "view" | "connect";

/** The plain model the decision reads. Entries of other accounts may be present: they never count. */
export interface AccessModel {
  users: readonly { id: string; accountId: string; role: "admin" | "member" }[];
  devices: readonly { id: string; accountId: string; lan: readonly string[] }[];
  groups: readonly { id: string; accountId: string; members: readonly string[] }[];
  pools: readonly { id: string; accountId: string; devices: readonly string[] }[];
  rules: readonly { accountId: string; groupId: string; poolId: string; level: "view" | "connect"; targets: readonly string[] | null }[];
}

/** A user's access to one device, with the targets a stream may reach (empty below connect). */
export interface DeviceAccess {
  level: AccessLevel;
  /** Canonical `--targets` entries. */
  targets: string[];
}

/** The outcome for one stream: allowed (with the entries the agent checks again) or the refusal's code. */
export type StreamDecision =
  | { outcome: "allow"; verdict: "allowed" | "ask-agent"; targets: string[] }
  | { outcome: "not-found" | "forbidden" | "target-not-allowed"; targets: string[] };

const RANK: Record<AccessLevel, number> = { none: 0, view: 1, connect: 2 };

/** A device added without `--lan` leaves the choice of targets to its agent's own allowlist. */
const ANY_TARGET: readonly string[] = ["0.0.0.0/0", "::/0"];

function lanOf(device: { lan: readonly string[] }): readonly string[] {
  return device.lan.length > 0 ? device.lan : ANY_TARGET;
}

/**
 * Admins have connect on every device of their account, within its LAN ranges (a device
 * without ranges: whatever its agent allows). A member's
 * level is the highest of the rules whose group holds the member and whose pool holds the
 * device; the targets are the union of the matching connect rules' targets (a rule without
 * targets means the device's LAN ranges).
 */
export function decideDeviceAccess(model: AccessModel, userId: string, deviceId: string): DeviceAccess {
  const user = model.users.find((u) => u.id === userId);
  const device = model.devices.find((d) => d.id === deviceId);
  if (!user || !device || user.accountId !== device.accountId) return { level: "none", targets: [] };
  const account = user.accountId;
  if (user.role === "admin") return { level: "connect", targets: canonicalTargets(lanOf(device)) };
  const groups = new Set(model.groups.filter((g) => g.accountId === account && g.members.includes(userId)).map((g) => g.id));
  const pools = new Set(model.pools.filter((p) => p.accountId === account && p.devices.includes(deviceId)).map((p) => p.id));
  const matching = model.rules.filter((r) => r.accountId === account && groups.has(r.groupId) && pools.has(r.poolId));
  let level: AccessLevel = "none";
  for (const rule of matching) if (RANK[rule.level] > RANK[level]) level = rule.level;
  if (level !== "connect") return { level, targets: [] };
  const targets = matching.filter((r) => r.level === "connect").flatMap((r) => r.targets ?? lanOf(device));
  return { level, targets: canonicalTargets(targets) };
}

/** True when the level lets the user see the device in lists and `device show`. */
export function canView(access: DeviceAccess): boolean {
  return RANK[access.level] >= RANK.view;
}

/**
 * Decides one stream from a device access: no view reads as a missing device, view alone
 * is forbidden, and the target must pass the entries (IP literals here; host names are left
 * to the agent, which gets the entries that admit the port).
 */
export function decideStream(access: DeviceAccess, target: HostPort): StreamDecision {
  if (access.level === "none") return { outcome: "not-found", targets: [] };
  if (access.level === "view") return { outcome: "forbidden", targets: [] };
  const entries: TargetEntry[] = access.targets.map(parseTargetEntry);
  const verdict = judgeTarget(entries, target);
  if (verdict === "denied") return { outcome: "target-not-allowed", targets: access.targets };
  return { outcome: "allow", verdict, targets: entriesForPort(entries, target.port).map(formatTargetEntry) };
}
