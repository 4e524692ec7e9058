import { z } from "zod";
import { LoginRequest, ROUTES, SessionRestriction } from "./api.js";
import type { RouteDoc } from "./openapi.js";

/**
 * The cookie that holds a browser's session token: HttpOnly, sent only over TLS to exactly
 * the portal's host (`__Host-`: Secure, Path=/, no Domain, so HMI hosts under the portal's
 * domain never receive it), never on requests started by other sites (SameSite=Strict).
 */
export const SESSION_COOKIE = "__Host-fernlink";

/** The portal's view of its browser session (the token itself stays in an HttpOnly cookie). */
export const BrowserSession = z.strictObject({
  account: z.string(),
  user: z.string(),
  role: z.enum(["admin", "member"]),
  expiresAt: z.string().nullable(),
  /** Sent back in the `x-csrf-token` header on every request that changes something. */
  csrf: z.string(),
  restriction: SessionRestriction.optional(),
});
export type BrowserSession = z.infer<typeof BrowserSession>;

/** Whether the browser has a session: the portal's first question, answered 200 either way (no 401 in its console). */
export const BrowserSessionState = z.discriminatedUnion("signedIn", [
  z.strictObject({ signedIn: z.literal(false) }),
  z.strictObject({ signedIn: z.literal(true), session: BrowserSession }),
]);
export type BrowserSessionState = z.infer<typeof BrowserSessionState>;

/** The browser-session routes, for the OpenAPI document. */
export const SESSION_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: "post",
    path: ROUTES.session,
    summary: "Portal sign-in: like login, but the session token goes into an HttpOnly cookie; answers otp-required when a one-time code is needed",
    auth: "none",
    request: LoginRequest,
    response: BrowserSession,
  },
  {
    method: "get",
    path: ROUTES.sessionState,
    summary: "Whether the browser's cookie holds a session, and that session; signedIn false (not 401) when not",
    auth: "none",
    response: BrowserSessionState,
  },
  { method: "get", path: ROUTES.session, summary: "The portal's session and its CSRF token", auth: "session", response: BrowserSession },
  {
    method: "delete",
    path: ROUTES.session,
    summary: "Portal sign-out: ends the session and clears its cookie",
    auth: "session",
    response: z.strictObject({ ok: z.literal(true) }),
  },
];
