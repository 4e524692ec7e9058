import { z } from "zod";
import { NameSchema } from "./api.js";
import type { RouteDoc } from "./openapi.js";

/**
 * REST bodies for users, passwords, one-time codes, the account policy and API tokens.
 * Unknown keys are rejected; limits are the policy's own bounds.
 */

const Role = z.enum(["admin", "member"]);
const Password = z.string().min(1).max(1024);

/** POST /api/v1/users — admin adds a user with an initial password. */
export const UserAddRequest = z.strictObject({
  name: NameSchema,
  role: Role.default("member"),
  password: Password,
});
export type UserAddRequest = z.infer<typeof UserAddRequest>;

/** One user as `user list` shows it. */
export const UserInfo = z.strictObject({
  name: NameSchema,
  role: Role,
  locked: z.boolean(),
  lockedUntil: z.string().nullable(),
  otpEnabled: z.boolean(),
  createdAt: z.string(),
  passwordChangedAt: z.string().nullable(),
  /** Locked by an admin until an admin unlocks it (apart from a lock after failed logins). */
  adminLocked: z.boolean(),
  /** An admin reset the password: the user must change it at the next login. */
  mustChangePassword: z.boolean(),
});
export type UserInfo = z.infer<typeof UserInfo>;

/** POST /api/v1/users/:name/reset-password — admin sets a one-time password the user must change. */
export const PasswordResetRequest = z.strictObject({ password: Password });
export type PasswordResetRequest = z.infer<typeof PasswordResetRequest>;

/** POST /api/v1/users/:name/role — admin changes a user's role. */
export const RoleChangeRequest = z.strictObject({ role: Role });
export type RoleChangeRequest = z.infer<typeof RoleChangeRequest>;

/** One live session as `session list` shows it (never its token). */
export const SessionInfo = z.strictObject({
  id: z.string(),
  user: NameSchema,
  /** Where the login came from; null for sessions from before this was recorded. */
  source: z.string().nullable(),
  kind: z.enum(["cli", "portal"]).nullable(),
  startedAt: z.string(),
  lastSeenAt: z.string(),
  expiresAt: z.string(),
  /** The session this request was made with. */
  current: z.boolean(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

/** POST /api/v1/passwd — a user changes their own password. */
export const PasswdRequest = z.strictObject({
  currentPassword: Password,
  newPassword: Password,
});
export type PasswdRequest = z.infer<typeof PasswdRequest>;

/** Reply to passwd: how many other sessions of the user were ended. */
export const PasswdResponse = z.strictObject({ revokedSessions: z.number().int().min(0) });
export type PasswdResponse = z.infer<typeof PasswdResponse>;

/** Reply to POST /api/v1/otp/enable: the secret, shown once, and the URI for an authenticator app. */
export const OtpEnableResponse = z.strictObject({
  secret: z.string(),
  uri: z.string(),
});
export type OtpEnableResponse = z.infer<typeof OtpEnableResponse>;

const OtpCode = z.string().regex(/^\d{6}$/, "a one-time code is 6 digits");

/** POST /api/v1/otp/disable — needs a current code. */
export const OtpDisableRequest = z.strictObject({ code: OtpCode });
export type OtpDisableRequest = z.infer<typeof OtpDisableRequest>;

/** The account policy: password rules, lockout, two-factor requirement and connect reasons. */
export const AccountPolicy = z.strictObject({
  minLength: z.number().int(),
  maxAgeDays: z.number().int().nullable(),
  history: z.number().int(),
  lockoutAfter: z.number().int(),
  requireOtp: z.boolean(),
  /** Every stream and portal session needs a connect reason (connect-reason.ts). */
  requireReason: z.boolean(),
});
export type AccountPolicy = z.infer<typeof AccountPolicy>;

/** Bounds of each policy setting. */
export const POLICY_LIMITS = {
  minLength: { min: 8, max: 128 },
  maxAgeDays: { min: 1, max: 3650 },
  history: { min: 0, max: 24 },
  lockoutAfter: { min: 1, max: 100 },
} as const;

const bounded = (k: keyof typeof POLICY_LIMITS) => z.number().int().min(POLICY_LIMITS[k].min).max(POLICY_LIMITS[k].max);

/** POST /api/v1/account/policy — admin changes some settings; `maxAgeDays: null` turns expiry off. */
export const AccountPolicyUpdate = z.strictObject({
  minLength: bounded("minLength").optional(),
  maxAgeDays: bounded("maxAgeDays").nullable().optional(),
  history: bounded("history").optional(),
  lockoutAfter: bounded("lockoutAfter").optional(),
  requireOtp: z.boolean().optional(),
  requireReason: z.boolean().optional(),
});
export type AccountPolicyUpdate = z.infer<typeof AccountPolicyUpdate>;

/** POST /api/v1/tokens — admin makes an API token for automation. */
export const TokenAddRequest = z.strictObject({
  name: NameSchema,
  role: Role.default("member"),
  expiresDays: z.number().int().min(1).max(3650).optional(),
});
export type TokenAddRequest = z.infer<typeof TokenAddRequest>;

/** One API token as `token list` shows it (never the token itself). */
export const TokenInfo = z.strictObject({
  name: NameSchema,
  role: Role,
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  expired: z.boolean(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

/** Reply to token add: the token, shown this once only. */
export const TokenAddResponse = z.strictObject({
  token: z.string(),
  info: TokenInfo,
});
export type TokenAddResponse = z.infer<typeof TokenAddResponse>;

/** The routes of this part of the API. */
export const USER_ROUTES = {
  users: "/api/v1/users",
  user: "/api/v1/users/:name",
  userUnlock: "/api/v1/users/:name/unlock",
  userLock: "/api/v1/users/:name/lock",
  userResetPassword: "/api/v1/users/:name/reset-password",
  userResetOtp: "/api/v1/users/:name/reset-otp",
  userRole: "/api/v1/users/:name/role",
  sessions: "/api/v1/sessions",
  session: "/api/v1/sessions/:id",
  passwd: "/api/v1/passwd",
  otpEnable: "/api/v1/otp/enable",
  otpDisable: "/api/v1/otp/disable",
  policy: "/api/v1/account/policy",
  tokens: "/api/v1/tokens",
  token: "/api/v1/tokens/:name",
} as const;

const Ok = z.strictObject({ ok: z.literal(true) });

/** The routes above with their schemas, for the OpenAPI document. */
export const USER_ROUTE_DOCS: readonly RouteDoc[] = [
  { method: "get", path: USER_ROUTES.users, summary: "Users of the account (admin)", auth: "session", role: "admin", response: z.array(UserInfo) },
  {
    method: "post",
    path: USER_ROUTES.users,
    summary: "Add a user with an initial password that meets the policy (admin)",
    auth: "session",
    role: "admin",
    request: UserAddRequest,
    response: UserInfo,
    status: 201,
  },
  {
    method: "delete",
    path: USER_ROUTES.user,
    summary: "Remove a user: sessions end, API tokens the user made are revoked, live streams are cut (admin)",
    auth: "session",
    role: "admin",
    response: Ok,
  },
  {
    method: "post",
    path: USER_ROUTES.userUnlock,
    summary: "Lift a lock after failed logins and an admin's lock (admin)",
    auth: "session",
    role: "admin",
    response: UserInfo,
  },
  {
    method: "post",
    path: USER_ROUTES.userLock,
    summary: "Lock a user now: sessions end, the user's API tokens stop working, live streams are cut, logins are refused until unlocked (admin; not yourself)",
    auth: "session",
    role: "admin",
    response: UserInfo,
  },
  {
    method: "post",
    path: USER_ROUTES.userResetPassword,
    summary: "Set a one-time password the user must change at the next login; the user's sessions end (admin; not yourself)",
    auth: "session",
    role: "admin",
    request: PasswordResetRequest,
    response: UserInfo,
  },
  {
    method: "post",
    path: USER_ROUTES.userResetOtp,
    summary: "Remove a user's one-time codes, so the user enrols again (admin)",
    auth: "session",
    role: "admin",
    response: UserInfo,
  },
  {
    method: "post",
    path: USER_ROUTES.userRole,
    summary: "Change a user's role; the last admin of the account stays admin (admin)",
    auth: "session",
    role: "admin",
    request: RoleChangeRequest,
    response: UserInfo,
  },
  {
    method: "get",
    path: USER_ROUTES.sessions,
    summary: "Live sessions: every user's for an admin, the caller's own for a member",
    auth: "session",
    response: z.array(SessionInfo),
  },
  {
    method: "delete",
    path: USER_ROUTES.session,
    summary: "End a session and cut its live streams: any of the account's for an admin, one's own for a member",
    auth: "session",
    response: Ok,
  },
  {
    method: "post",
    path: USER_ROUTES.passwd,
    summary: "Change the caller's password; every other session of the user ends (allowed to a session whose password expired)",
    auth: "session",
    request: PasswdRequest,
    response: PasswdResponse,
  },
  {
    method: "post",
    path: USER_ROUTES.otpEnable,
    summary: "Turn on one-time codes: a new TOTP secret and its otpauth:// URI, shown once",
    auth: "session",
    response: OtpEnableResponse,
  },
  {
    method: "post",
    path: USER_ROUTES.otpDisable,
    summary: "Turn off one-time codes; needs a current code",
    auth: "session",
    request: OtpDisableRequest,
    response: Ok,
  },
  { method: "get", path: USER_ROUTES.policy, summary: "The account's password, lockout and one-time-code policy", auth: "session", response: AccountPolicy },
  {
    method: "post",
    path: USER_ROUTES.policy,
    summary: "Change some policy settings (admin)",
    auth: "session",
    role: "admin",
    request: AccountPolicyUpdate,
    response: AccountPolicy,
  },
  {
    method: "get",
    path: USER_ROUTES.tokens,
    summary: "API tokens of the account, without the tokens (admin)",
    auth: "session",
    role: "admin",
    response: z.array(TokenInfo),
  },
  {
    method: "post",
    path: USER_ROUTES.tokens,
    summary: "Make an API token with a role and optional expiry; the token is shown once (admin)",
    auth: "session",
    role: "admin",
    request: TokenAddRequest,
    response: TokenAddResponse,
    status: 201,
  },
  { method: "delete", path: USER_ROUTES.token, summary: "Revoke an API token (admin)", auth: "session", role: "admin", response: Ok },
];
