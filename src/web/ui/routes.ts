import type { ROUTES } from "../../protocol/api.js";
import type { ACCESS_ROUTES } from "../../protocol/api-access.js";
import type { NOTIFY_ROUTES } from "../../protocol/api-notify.js";
import type { USER_ROUTES } from "../../protocol/api-users.js";

/**
 * API paths the portal calls. The protocol modules hold them next to zod schemas, which must not
 * end up in the bundle, so they are repeated here; `satisfies` makes tsc fail if one drifts.
 */
export const API = {
  ...({
    session: "/api/v1/session",
    sessionState: "/api/v1/session/state",
    devices: "/api/v1/devices",
    device: "/api/v1/devices/:name",
    deviceKey: "/api/v1/devices/:name/activation-key",
    deviceWeb: "/api/v1/devices/:name/web",
    deviceWebTarget: "/api/v1/devices/:name/web/:target",
    audit: "/api/v1/audit",
    connectionsReport: "/api/v1/reports/connections",
    liveTunnels: "/api/v1/live/tunnels",
    liveStreams: "/api/v1/live/streams",
    liveStream: "/api/v1/live/streams/:id",
    status: "/api/v1/status",
    events: "/api/v1/events",
    publishedPorts: "/api/v1/published-ports",
  } as const satisfies Pick<
    typeof ROUTES,
    | "session"
    | "sessionState"
    | "devices"
    | "device"
    | "deviceKey"
    | "deviceWeb"
    | "deviceWebTarget"
    | "audit"
    | "connectionsReport"
    | "liveTunnels"
    | "liveStreams"
    | "liveStream"
    | "status"
    | "events"
    | "publishedPorts"
  >),
  ...({
    users: "/api/v1/users",
    user: "/api/v1/users/:name",
    userUnlock: "/api/v1/users/:name/unlock",
    userLock: "/api/v1/users/:name/lock",
    userResetPassword: "/api/v1/users/:name/reset-password",
    userResetOtp: "/api/v1/users/:name/reset-otp",
    userRole: "/api/v1/users/:name/role",
    passwd: "/api/v1/passwd",
    otpEnable: "/api/v1/otp/enable",
    policy: "/api/v1/account/policy",
  } as const satisfies Pick<
    typeof USER_ROUTES,
    "users" | "user" | "userUnlock" | "userLock" | "userResetPassword" | "userResetOtp" | "userRole" | "passwd" | "otpEnable" | "policy"
  >),
  ...({
    accountSessions: "/api/v1/sessions",
    accountSession: "/api/v1/sessions/:id",
  } as const satisfies { accountSessions: typeof USER_ROUTES.sessions; accountSession: typeof USER_ROUTES.session }),
  ...({
    groups: "/api/v1/groups",
    group: "/api/v1/groups/:name",
    groupMembers: "/api/v1/groups/:name/members",
    pools: "/api/v1/pools",
    pool: "/api/v1/pools/:name",
    poolDevices: "/api/v1/pools/:name/devices",
    accessRules: "/api/v1/access-rules",
    accessRule: "/api/v1/access-rules/:group/:pool",
  } as const satisfies typeof ACCESS_ROUTES),
  ...({
    notifyChannels: "/api/v1/notifications/channels",
    notifyChannel: "/api/v1/notifications/channels/:name",
    notifyChannelTest: "/api/v1/notifications/channels/:name/test",
    notifyRules: "/api/v1/notifications/rules",
    notifyRule: "/api/v1/notifications/rules/:id",
    notifyLog: "/api/v1/notifications",
  } as const satisfies {
    notifyChannels: typeof NOTIFY_ROUTES.channels;
    notifyChannel: typeof NOTIFY_ROUTES.channel;
    notifyChannelTest: typeof NOTIFY_ROUTES.channelTest;
    notifyRules: typeof NOTIFY_ROUTES.rules;
    notifyRule: typeof NOTIFY_ROUTES.rule;
    notifyLog: typeof NOTIFY_ROUTES.log;
  }),
  // Not REST routes of the catalogue: the VNC WebSocket and the HMI hand-over (see the portal plan).
  vnc: "/api/v1/web-targets/:id/vnc",
  webOpen: "/web/open/:id",
} as const;
