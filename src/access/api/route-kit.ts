import type { Context, Hono, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { z } from "zod";
import type { SessionRestriction } from "../../protocol/api.js";
import type { AccessContext } from "../context.js";
import { ensureAdmin } from "../roles.js";
import { authenticate } from "../sessions.js";
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
export function adminOnly(ctx: AccessContext, action: string, object?: string): MiddlewareHandler<ApiEnv> {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const params = Object.values(c.req.param() as Record<string, string>);
    await ensureAdmin(ctx, c.get("principal"), action, object ?? (params.length > 0 ? params.join("/") : c.req.path));
    await next();
  });
}

/** Parses the JSON body with a schema (unknown keys rejected by the schema itself). */
export async function body<T extends z.ZodType>(c: Context<ApiEnv>, schema: T): Promise<z.infer<T>> {
  return schema.parse(await c.req.json());
}

/** The session middleware for `ctx`; `allow` lets in sessions restricted in those ways (the routes that lift the restriction). */
export function sessionMiddleware(ctx: AccessContext, allow: readonly SessionRestriction[] = []): MiddlewareHandler<ApiEnv> {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
    c.set("principal", await authenticate(ctx, token, c.get("source"), allow.length > 0 ? { allow } : {}));
    await next();
  });
}
