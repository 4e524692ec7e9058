import { LoginRequest, ROUTES } from "../../protocol/api.js";
import type { BrowserSession, BrowserSessionState } from "../../protocol/api-session.js";
import { FernlinkError } from "../../protocol/errors.js";
import type { Principal } from "../context.js";
import { cutStreamsOfToken } from "../live-streams.js";
import { authenticate, login, logout } from "../sessions.js";
import { clearSessionCookie, csrfTokenFor, ensureNotForged, ensureSameOrigin, sessionCookie, setSessionCookie } from "./browser-session.js";
import { body, type RouteKit, sessionMiddleware } from "./route-kit.js";

function view(p: Principal, token: string): BrowserSession {
  return {
    account: p.accountName,
    user: p.userName,
    role: p.role,
    expiresAt: p.expiresAt,
    csrf: csrfTokenFor(token),
    ...(p.restriction ? { restriction: p.restriction } : {}),
  };
}

/** The portal's sign-in, session and sign-out: the CLI's login and logout with the token in a cookie. */
export function registerSessionRoutes({ app, ctx }: RouteKit): void {
  // A restricted session still signs in: the portal then offers what lifts the restriction.
  const anySession = sessionMiddleware(ctx, ["password-expired", "password-change-required", "otp-enrollment-required"]);
  app.post(ROUTES.session, async (c) => {
    ensureSameOrigin(c);
    const session = await login(ctx, await body(c, LoginRequest), c.get("source"), "portal");
    const who = await authenticate(ctx, session.token, c.get("source"), { allow: ["password-expired", "password-change-required", "otp-enrollment-required"] });
    setSessionCookie(c, session.token, session.expiresAt, ctx.now());
    return c.json(view(who, session.token));
  });
  app.get(ROUTES.sessionState, async (c) => {
    const token = sessionCookie(c);
    const out: BrowserSessionState = { signedIn: false };
    if (token === undefined) return c.json(out);
    ensureNotForged(c, token);
    try {
      const who = await authenticate(ctx, token, c.get("source"), { allow: ["password-expired", "password-change-required", "otp-enrollment-required"] });
      return c.json({ signedIn: true, session: view(who, token) } satisfies BrowserSessionState);
    } catch (err) {
      if (!(err instanceof FernlinkError && err.code === "unauthenticated")) throw err;
      // An ended session's cookie is of no further use.
      clearSessionCookie(c);
      return c.json(out);
    }
  });
  app.get(ROUTES.session, anySession, (c) => c.json(view(c.get("principal"), c.get("token") ?? "")));
  app.delete(ROUTES.session, anySession, async (c) => {
    await logout(ctx, c.get("principal"));
    // HMI pages and VNC panels of this session close with it.
    cutStreamsOfToken(ctx, c.get("principal").accountId, c.get("token") ?? "");
    clearSessionCookie(c);
    return c.json({ ok: true });
  });
}
