import {
  AccountPolicyUpdate,
  OtpDisableRequest,
  PasswdRequest,
  PasswordResetRequest,
  RoleChangeRequest,
  TokenAddRequest,
  USER_ROUTES,
  UserAddRequest,
} from "../../protocol/api-users.js";
import { accountPolicy, setAccountPolicy } from "../account-policy.js";
import { addApiToken, listAccountApiTokens, revokeAccountApiToken } from "../api-tokens.js";
import { disableOtp, enableOtp } from "../otp.js";
import { endSession, listSessions } from "../session-admin.js";
import { changeRole, lockUser, resetOtp, resetPassword } from "../user-admin.js";
import { addUser, changePassword, listAccountUsers, removeUser, unlockUser } from "../users.js";
import { adminOnly, body, type RouteKit, sessionMiddleware } from "./route-kit.js";

/** User, password, one-time-code, policy and API token routes. */
export function registerUserRoutes({ app, ctx, auth }: RouteKit): void {
  // The two routes that fix a restricted session must let it in.
  const passwdAuth = sessionMiddleware(ctx, ["password-expired", "password-change-required", "otp-enrollment-required"]);
  const enrolAuth = sessionMiddleware(ctx, ["otp-enrollment-required"]);

  app.get(USER_ROUTES.users, auth, adminOnly(ctx, "user.list", "users"), async (c) => c.json(await listAccountUsers(ctx, c.get("principal"))));
  app.post(USER_ROUTES.users, auth, adminOnly(ctx, "user.add", "users"), async (c) =>
    c.json(await addUser(ctx, c.get("principal"), await body(c, UserAddRequest)), 201),
  );
  app.delete(USER_ROUTES.user, auth, adminOnly(ctx, "user.remove"), async (c) => {
    await removeUser(ctx, c.get("principal"), c.req.param("name"));
    return c.json({ ok: true });
  });
  app.post(USER_ROUTES.userUnlock, auth, adminOnly(ctx, "user.unlock"), async (c) => c.json(await unlockUser(ctx, c.get("principal"), c.req.param("name"))));
  app.post(USER_ROUTES.userLock, auth, adminOnly(ctx, "user.lock"), async (c) => c.json(await lockUser(ctx, c.get("principal"), c.req.param("name"))));
  app.post(USER_ROUTES.userResetPassword, auth, adminOnly(ctx, "user.reset-password"), async (c) =>
    c.json(await resetPassword(ctx, c.get("principal"), c.req.param("name"), await body(c, PasswordResetRequest))),
  );
  app.post(USER_ROUTES.userResetOtp, auth, adminOnly(ctx, "user.reset-otp"), async (c) => c.json(await resetOtp(ctx, c.get("principal"), c.req.param("name"))));
  app.post(USER_ROUTES.userRole, auth, adminOnly(ctx, "user.role"), async (c) =>
    c.json(await changeRole(ctx, c.get("principal"), c.req.param("name"), await body(c, RoleChangeRequest))),
  );
  app.get(USER_ROUTES.sessions, auth, async (c) => c.json(await listSessions(ctx, c.get("principal"))));
  app.delete(USER_ROUTES.session, auth, async (c) => {
    await endSession(ctx, c.get("principal"), c.req.param("id"));
    return c.json({ ok: true });
  });

  app.post(USER_ROUTES.passwd, passwdAuth, async (c) => c.json(await changePassword(ctx, c.get("principal"), await body(c, PasswdRequest))));
  app.post(USER_ROUTES.otpEnable, enrolAuth, async (c) => c.json(await enableOtp(ctx, c.get("principal"))));
  app.post(USER_ROUTES.otpDisable, auth, async (c) => {
    await disableOtp(ctx, c.get("principal"), await body(c, OtpDisableRequest));
    return c.json({ ok: true });
  });

  app.get(USER_ROUTES.policy, auth, async (c) => c.json(await accountPolicy(ctx, c.get("principal"))));
  app.post(USER_ROUTES.policy, auth, adminOnly(ctx, "account.policy", "account policy"), async (c) =>
    c.json(await setAccountPolicy(ctx, c.get("principal"), await body(c, AccountPolicyUpdate))),
  );

  app.get(USER_ROUTES.tokens, auth, adminOnly(ctx, "token.list", "tokens"), async (c) => c.json(await listAccountApiTokens(ctx, c.get("principal"))));
  app.post(USER_ROUTES.tokens, auth, adminOnly(ctx, "token.add", "tokens"), async (c) =>
    c.json(await addApiToken(ctx, c.get("principal"), await body(c, TokenAddRequest)), 201),
  );
  app.delete(USER_ROUTES.token, auth, adminOnly(ctx, "token.revoke"), async (c) => {
    await revokeAccountApiToken(ctx, c.get("principal"), c.req.param("name"));
    return c.json({ ok: true });
  });
}
