import type { TLSSocket } from "node:tls";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { z } from "zod";
import type { SessionRestriction } from "../../protocol/api.js";
import { FernlinkError } from "../../protocol/errors.js";
import type { AgentIdentity } from "../../protocol/relay-access.js";
import { deviceIdFromCertificate, serialOf } from "../../shared/pki.js";
import type { AuditAction } from "../audit-actions.js";
import type { AccessContext } from "../context.js";
import { authenticateAgent } from "../registration.js";
import { ensureAdmin } from "../roles.js";
import { authenticate } from "../sessions.js";
import { ensureNotForged, sessionCookie } from "./browser-session.js";
import type { ApiEnv } from "./env.js";

/** What each route module gets: the app to add routes to, the context, and the session check. */
export interface RouteKit {
  app: Hono<ApiEnv>;
  ctx: AccessContext;
  /** Middleware: the request must carry a valid session or API token; sets `principal`. */
  auth: MiddlewareHandler<ApiEnv>;
}

/**
 * Middleware after `auth`: lets only account admins on, before the body is read, so a
 * member gets 403 `forbidden` (audited once, as `action`) whatever they sent. The object
 * audited is `object`, else the path parameters (`group/pool`), else the path.
 */
export function adminOnly(ctx: AccessContext, action: AuditAction, object?: string): MiddlewareHandler<ApiEnv> {
  return createMiddleware<ApiEnv>(async (c, next) => {
    // In the order the route names them: the router's own order of `param()` is not the path's.
    const values = c.req.param() as Record<string, string>;
    const params = [...c.req.routePath.matchAll(/:([A-Za-z]+)/g)].flatMap((m) => values[m[1]!] ?? []);
    await ensureAdmin(ctx, c.get("principal"), action, object ?? (params.length > 0 ? params.join("/") : c.req.path));
    await next();
  });
}

/** Parses the JSON body with a schema (unknown keys rejected by the schema itself). */
export async function body<T extends z.ZodType>(c: Context<ApiEnv>, schema: T): Promise<z.infer<T>> {
  return schema.parse(await c.req.json());
}

/**
 * The session middleware for `ctx`: a bearer token (CLI, scripts) or the portal's session
 * cookie, which must pass the CSRF checks. `allow` lets in sessions restricted in those ways
 * (the routes that lift the restriction).
 */
export function sessionMiddleware(ctx: AccessContext, allow: readonly SessionRestriction[] = []): MiddlewareHandler<ApiEnv> {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    let token = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
    if (token === undefined && header === undefined) {
      token = sessionCookie(c);
      if (token !== undefined) ensureNotForged(c, token);
    }
    c.set("token", token);
    c.set("principal", await authenticate(ctx, token, c.get("source"), allow.length > 0 ? { allow } : {}));
    await next();
  });
}

/** The device behind the request's client certificate (chain checked by TLS already). */
export async function requestingAgent(ctx: AccessContext, c: Context<ApiEnv>): Promise<AgentIdentity> {
  const socket = c.env?.incoming?.socket as TLSSocket | undefined;
  const cert = socket?.authorized ? socket.getPeerCertificate() : undefined;
  if (!cert?.serialNumber) throw new FernlinkError("certificate-rejected", "this route needs a valid device certificate");
  return authenticateAgent(ctx, { serial: serialOf(cert), deviceId: deviceIdFromCertificate(cert) });
}
