import { z } from "zod";
import { NameSchema } from "./api.js";
import type { RouteDoc } from "./openapi.js";
import { parseTargetEntry } from "./target-filter.js";

/**
 * The REST catalogue of groups (of users), pools (of devices) and access rules (a group's
 * level on a pool, optionally narrowed to targets). Every route is for account admins.
 */

/** How many names one membership change may carry. */
const MAX_NAMES = 200;

/** POST /api/v1/groups and /api/v1/pools — admin creates a group or pool. */
export const NamedAddRequest = z.strictObject({ name: NameSchema });
export type NamedAddRequest = z.infer<typeof NamedAddRequest>;

/** One group with its members' user names. */
export const GroupInfo = z.strictObject({ name: NameSchema, members: z.array(NameSchema), createdAt: z.string() });
export type GroupInfo = z.infer<typeof GroupInfo>;

/** One pool with its devices' names. */
export const PoolInfo = z.strictObject({ name: NameSchema, devices: z.array(NameSchema), createdAt: z.string() });
export type PoolInfo = z.infer<typeof PoolInfo>;

/** POST /api/v1/groups/:name/members and /api/v1/pools/:name/devices — admin adds and removes names in one change. */
export const MembershipChange = z.strictObject({
  add: z.array(NameSchema).max(MAX_NAMES).default([]),
  remove: z.array(NameSchema).max(MAX_NAMES).default([]),
});
export type MembershipChange = z.infer<typeof MembershipChange>;

/** Reply to removing a group or pool: the access rules that went with it. */
export const RemovedReply = z.strictObject({ ok: z.literal(true), rulesRemoved: z.number().int().min(0) });
export type RemovedReply = z.infer<typeof RemovedReply>;

/** One `--targets` entry, `host[:port,port…]` with the host an IP, CIDR or name. */
export const TargetEntryText = z
  .string()
  .min(1)
  .max(300)
  .superRefine((text, ctx) => {
    try {
      parseTargetEntry(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
    }
  });

/** The access levels: `view` shows a device, `connect` also allows streams. */
export const AccessLevel = z.enum(["view", "connect"]);
export type AccessLevel = z.infer<typeof AccessLevel>;

/** POST /api/v1/access-rules — admin grants a group a level on a pool (replacing its earlier rule there). */
export const AccessGrantRequest = z
  .strictObject({
    group: NameSchema,
    pool: NameSchema,
    level: AccessLevel.default("connect"),
    /** Omitted: the LAN ranges of each device in the pool. */
    targets: z.array(TargetEntryText).min(1).max(64).optional(),
  })
  .refine((r) => r.level === "connect" || r.targets === undefined, {
    message: "targets narrow connect rules only; drop them for --level view",
    path: ["targets"],
  });
export type AccessGrantRequest = z.infer<typeof AccessGrantRequest>;

/** One access rule; `targets` null means the devices' LAN ranges. */
export const AccessRuleInfo = z.strictObject({
  group: NameSchema,
  pool: NameSchema,
  level: AccessLevel,
  targets: z.array(z.string()).nullable(),
  createdAt: z.string(),
});
export type AccessRuleInfo = z.infer<typeof AccessRuleInfo>;

/** The routes of groups, pools and access rules. */
export const ACCESS_ROUTES = {
  groups: "/api/v1/groups",
  group: "/api/v1/groups/:name",
  groupMembers: "/api/v1/groups/:name/members",
  pools: "/api/v1/pools",
  pool: "/api/v1/pools/:name",
  poolDevices: "/api/v1/pools/:name/devices",
  accessRules: "/api/v1/access-rules",
  accessRule: "/api/v1/access-rules/:group/:pool",
} as const;

const Ok = z.strictObject({ ok: z.literal(true) });

/** The routes above as the OpenAPI document describes them. */
export const ACCESS_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: "get",
    path: ACCESS_ROUTES.groups,
    summary: "Groups of the account with their members (admin)",
    auth: "session",
    role: "admin",
    response: z.array(GroupInfo),
  },
  {
    method: "post",
    path: ACCESS_ROUTES.groups,
    summary: "Create an empty group of users (admin)",
    auth: "session",
    role: "admin",
    request: NamedAddRequest,
    response: GroupInfo,
    status: 201,
  },
  { method: "get", path: ACCESS_ROUTES.group, summary: "One group with its members (admin)", auth: "session", role: "admin", response: GroupInfo },
  {
    method: "delete",
    path: ACCESS_ROUTES.group,
    summary: "Remove a group with its access rules; streams that relied on them end (admin)",
    auth: "session",
    role: "admin",
    response: RemovedReply,
  },
  {
    method: "post",
    path: ACCESS_ROUTES.groupMembers,
    summary: "Add and remove members of a group; removed members' streams through it end (admin)",
    auth: "session",
    role: "admin",
    request: MembershipChange,
    response: GroupInfo,
  },
  {
    method: "get",
    path: ACCESS_ROUTES.pools,
    summary: "Pools of the account with their devices (admin)",
    auth: "session",
    role: "admin",
    response: z.array(PoolInfo),
  },
  {
    method: "post",
    path: ACCESS_ROUTES.pools,
    summary: "Create an empty pool of devices (admin)",
    auth: "session",
    role: "admin",
    request: NamedAddRequest,
    response: PoolInfo,
    status: 201,
  },
  { method: "get", path: ACCESS_ROUTES.pool, summary: "One pool with its devices (admin)", auth: "session", role: "admin", response: PoolInfo },
  {
    method: "delete",
    path: ACCESS_ROUTES.pool,
    summary: "Remove a pool with its access rules; streams that relied on them end (admin)",
    auth: "session",
    role: "admin",
    response: RemovedReply,
  },
  {
    method: "post",
    path: ACCESS_ROUTES.poolDevices,
    summary: "Add and remove devices of a pool; streams to removed devices through it end (admin)",
    auth: "session",
    role: "admin",
    request: MembershipChange,
    response: PoolInfo,
  },
  {
    method: "get",
    path: ACCESS_ROUTES.accessRules,
    summary: "Access rules of the account (admin)",
    auth: "session",
    role: "admin",
    response: z.array(AccessRuleInfo),
  },
  {
    method: "post",
    path: ACCESS_ROUTES.accessRules,
    summary: "Grant a group view or connect on a pool, optionally narrowed to targets; replaces the group's earlier rule there (admin)",
    auth: "session",
    role: "admin",
    request: AccessGrantRequest,
    response: AccessRuleInfo,
    status: 201,
  },
  {
    method: "delete",
    path: ACCESS_ROUTES.accessRule,
    summary: "Revoke a group's rule on a pool; live streams that relied on it end (admin)",
    auth: "session",
    role: "admin",
    response: Ok,
  },
];
