import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { SESSION_COOKIE } from "../../protocol/api-session.js";
import { FernlinkError } from "../../protocol/errors.js";
import type { ApiEnv } from "./env.js";

/** Header a cookie-authenticated request must carry on every method that changes something. */
export const CSRF_HEADER = "x-csrf-token";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The CSRF token of a session: an HMAC keyed by the session token itself, so only a page
 * that was told it (by GET /api/v1/session) can send it; nothing to store, valid on every node.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac("sha256", sessionToken).update("fernlink csrf v1").digest("base64url");
}

/** The session token a browser sent, if any. */
export function sessionCookie(c: Context<ApiEnv>): string | undefined {
  return getCookie(c, SESSION_COOKIE) || undefined;
}

/** Sets the session cookie until the session's absolute end (Max-Age, so the browser's clock does not matter). */
export function setSessionCookie(c: Context<ApiEnv>, token: string, expiresAt: string, now: Date): void {
  const maxAge = Math.max(0, Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000));
  setCookie(c, SESSION_COOKIE, token, { path: "/", secure: true, httpOnly: true, sameSite: "Strict", maxAge });
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Context<ApiEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true, httpOnly: true, sameSite: "Strict" });
}

/**
 * Refuses a cross-origin request: when the browser names the page's origin, its host must
 * be the host the request was sent to.
 */
export function ensureSameOrigin(c: Context<ApiEnv>): void {
  const origin = c.req.header("origin");
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  const requestHost = c.req.header("host") ?? new URL(c.req.url).host;
  if (host !== requestHost) throw new FernlinkError("forbidden", `requests from ${origin} are not accepted; open the portal at https://${requestHost}/`);
}

/** Checks a cookie-authenticated request against cross-site forgery (same origin, and the CSRF header on changes). */
export function ensureNotForged(c: Context<ApiEnv>, sessionToken: string): void {
  ensureSameOrigin(c);
  // Under a real domain the HMI hosts are the portal's *site*: its Strict cookie goes along with
  // their pages' requests too. Fetch Metadata says whether the portal's own page sent it.
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new FernlinkError("forbidden", `the portal's API does not answer pages of other origins (${site}); open the portal at its own address`);
  }
  if (SAFE_METHODS.has(c.req.method)) return;
  const sent = Buffer.from(c.req.header(CSRF_HEADER) ?? "");
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
    throw new FernlinkError("forbidden", "the request lacks the page's CSRF token; reload the page and try again");
  }
}
